package web

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"envelope/cases"
	"envelope/cases/blob"
	"envelope/cases/metadata"
	"envelope/exporter"
)

// exportService is a server's exporter, made on first use: the signing
// key is generated then if it does not exist yet.
type exportService struct {
	mu                 sync.Mutex
	keyDir, packageDir string
	blobs              blob.Store // nil: the database
	exp                *exporter.Exporter
}

// exportServices holds each server's export settings. Server's fields are
// owned by server.go; keeping these here lets the feature live in one file.
var exportServices sync.Map // *Server → *exportService

func (s *Server) exportService() *exportService {
	v, _ := exportServices.LoadOrStore(s, &exportService{keyDir: exporter.DefaultKeyDir, packageDir: exporter.DefaultPackageDir})
	return v.(*exportService)
}

// SetExportDirs sets where the signing key (outside the database) and the
// produced packages are kept, and loads the key, generating it on first
// start. Without it the defaults (envelope-keys, envelope-packages in the
// working directory) are used on the first export.
func (s *Server) SetExportDirs(keyDir, packageDir string) error {
	es := s.exportService()
	es.mu.Lock()
	es.keyDir, es.packageDir, es.exp = keyDir, packageDir, nil
	es.mu.Unlock()
	_, err := s.exporter()
	return err
}

// SetBlobStore sets where packages and letters are stored (by default the
// database); call it before SetExportDirs.
func (s *Server) SetBlobStore(b blob.Store) {
	es := s.exportService()
	es.mu.Lock()
	es.blobs, es.exp = b, nil
	es.mu.Unlock()
}

// exporter returns the server's exporter, creating it (and the key) once.
func (s *Server) exporter() (*exporter.Exporter, error) {
	es := s.exportService()
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.exp == nil {
		// metadata.New returns the one Store of this database, the
		// same the collection routes use; the exporter only reads it.
		blobs := es.blobs
		if blobs == nil {
			blobs = blob.Database{DB: s.DB}
		}
		exp, err := exporter.NewIn(s.DB, metadata.New(s.DB), es.keyDir, es.packageDir, blobs)
		if err != nil {
			return nil, fmt.Errorf("set up exports: %w", err)
		}
		exp.Builder.Logger = s.Logger
		exp.SetClocks(s.Clocks()) // export obeys the clocks' holds (clock.go)
		es.exp = exp
	}
	return es.exp, nil
}

// exportRoutes serves disclosure packages. Producing one is for the roles
// that work cases (intake, reviewers, supervisors, admins); every reader,
// auditors included, may list and download them; the public key is for
// anyone signed in, collectors included: it is public.
func (s *Server) exportRoutes(api *gin.RouterGroup) {
	api.POST("/cases/:id/export", s.bearer(caseLogger), s.exportCase)
	api.GET("/cases/:id/exports", s.bearer(anyReader), s.listExports)
	api.GET("/cases/:id/exports/:package", s.bearer(anyReader), s.downloadExport)
	api.GET("/signing-key", s.bearer(func(*cases.User) bool { return true }), s.signingKey)
}

// exportAnswer is the answer to a production: the spec's package and
// sha256, plus the package's details.
type exportAnswer struct {
	*exporter.Package
	URL string `json:"url"`
}

func (s *Server) answer(c *gin.Context, p *exporter.Package) exportAnswer {
	return exportAnswer{Package: p, URL: fmt.Sprintf("/api/v1/cases/%d/exports/%s", p.CaseID, p.FileName)}
}

func (s *Server) exportCase(c *gin.Context) {
	exp, err := s.exporter()
	if err != nil {
		s.apiError(c, err)
		return
	}
	p, err := exp.Export(c.Request.Context(), currentUser(c).Email, c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	s.announceNow(c)
	c.JSON(http.StatusCreated, s.answer(c, p))
}

func (s *Server) listExports(c *gin.Context) {
	exp, err := s.exporter()
	if err != nil {
		s.apiError(c, err)
		return
	}
	pkgs, err := exp.Packages(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.apiError(c, err)
		return
	}
	out := make([]exportAnswer, 0, len(pkgs))
	for _, p := range pkgs {
		out = append(out, s.answer(c, p))
	}
	c.JSON(http.StatusOK, gin.H{"packages": out})
}

// downloadExport serves a package.
func (s *Server) downloadExport(c *gin.Context) { s.sendPackage(c, s.apiError) }

// sendPackage serves the package named in the path by a name from the
// packages table only, so {package} can never name another file; fail
// answers errors the way the caller's side (API or portal) does.
func (s *Server) sendPackage(c *gin.Context, fail func(*gin.Context, error)) {
	exp, err := s.exporter()
	if err != nil {
		fail(c, err)
		return
	}
	p, f, err := exp.Open(c.Request.Context(), c.Param("id"), c.Param("package"))
	if err != nil {
		fail(c, err)
		return
	}
	defer f.Close()
	c.Header("X-Package-SHA256", p.SHA256)
	c.DataFromReader(http.StatusOK, p.Size, "application/zip", f, map[string]string{
		"Content-Disposition": fmt.Sprintf(`attachment; filename="%s"`, p.FileName),
	})
}

func (s *Server) signingKey(c *gin.Context) {
	exp, err := s.exporter()
	if err != nil {
		s.apiError(c, err)
		return
	}
	c.Data(http.StatusOK, "application/x-pem-file", exp.Builder.Signer.PublicPEM())
}
