package exporter

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"unicode"
)

var sqlErrNoRows = sql.ErrNoRows

// Problem is one thing wrong with a package, naming the file at fault
// (for a bad signature, "SHA256SUMS or SHA256SUMS.sig").
type Problem struct {
	File    string `json:"file"`
	Problem string `json:"problem"`
}

func (p Problem) String() string { return p.File + ": " + p.Problem }

// Verify checks a package against the signer's public key: every file's
// SHA-256 against SHA256SUMS, that SHA256SUMS lists every file and nothing
// else, the signature of SHA256SUMS, and that manifest.json agrees. It
// reports every problem found, not just the first; a package is intact
// only if there are none.
func Verify(r io.ReaderAt, size int64, pub ed25519.PublicKey) []Problem {
	var probs []Problem
	bad := func(file, format string, args ...any) {
		probs = append(probs, Problem{file, fmt.Sprintf(format, args...)})
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		bad("(zip)", "not a readable zip file: %v", err)
		return probs
	}
	if msg := archiveShape(zr, size); msg != "" {
		bad("(zip)", "%s", msg)
		return probs
	}
	// Hash every entry as it is; the archive's own CRCs are checked on the
	// way (a damaged entry is reported, not fatal to the rest).
	hashes := map[string]string{}
	sizes := map[string]int64{}
	contents := map[string][]byte{} // the small control files
	for _, f := range zr.File {
		name := f.Name
		if !safePath(strings.TrimSuffix(name, "/")) {
			bad(name, "unsafe path in the archive")
			continue
		}
		if t := f.Mode().Type(); t != 0 && t != fs.ModeDir {
			bad(name, "is a %s, not a regular file: a package holds only files", typeName(t))
			continue
		}
		if strings.HasSuffix(name, "/") {
			continue // a directory entry holds nothing
		}
		if _, dup := hashes[name]; dup {
			bad(name, "appears twice in the archive")
			continue
		}
		if f.UncompressedSize64 > bombSize && f.UncompressedSize64/max(f.CompressedSize64, 1) > maxRatio {
			bad(name, "declares %d bytes from %d compressed (more than %d:1): a zip bomb, not read", f.UncompressedSize64, f.CompressedSize64, maxRatio)
			hashes[name] = ""
			continue
		}
		sum, n, data, err := hashEntry(f, name == SumsFile || name == SigFile || name == ManifestFile)
		if err != nil {
			bad(name, "cannot be read: %v", err)
			hashes[name] = ""
			continue
		}
		hashes[name], sizes[name] = sum, n
		if data != nil {
			contents[name] = data
		}
	}

	sums, haveSums := contents[SumsFile]
	sig, haveSig := contents[SigFile]
	if !haveSums {
		bad(SumsFile, "missing")
	}
	if !haveSig {
		bad(SigFile, "missing")
	}
	if haveSums && haveSig {
		if pub == nil {
			bad(SigFile, "no public key to check the signature with")
		} else if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, sums, sig) {
			// Which of the two was altered cannot be told apart: both
			// are named.
			bad(SumsFile+" or "+SigFile, "the signature does not verify with key %s: one of them was altered, or another key signed the package",
				Fingerprint(pub)[:16])
		}
	}
	listed := map[string]bool{}
	if haveSums {
		sc := bufio.NewScanner(bytes.NewReader(sums))
		for line := 1; sc.Scan(); line++ {
			want, name, ok := parseSumLine(sc.Text())
			switch {
			case !ok:
				bad(SumsFile, "line %d is not \"SHA256  PATH\"", line)
				continue
			case listed[name]:
				bad(SumsFile, "lists %s twice", name)
				continue
			case name == SumsFile || name == SigFile:
				bad(SumsFile, "lists %s, which it cannot cover", name)
				continue
			}
			listed[name] = true
			got, present := hashes[name]
			switch {
			case !present:
				bad(name, "listed in %s but missing from the package", SumsFile)
			case got == "":
				// already reported as unreadable
			case got != want:
				bad(name, "SHA-256 is %s, but %s says %s: the file was altered", got, SumsFile, want)
			}
		}
	}
	names := make([]string, 0, len(hashes))
	for name := range hashes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if haveSums && name != SumsFile && name != SigFile && !listed[name] {
			bad(name, "not listed in %s: a file was added", SumsFile)
		}
	}
	probs = append(probs, checkManifest(contents[ManifestFile], hashes, sizes, pub)...)
	return probs
}

// checkManifest checks that manifest.json parses, that the files it lists
// are in the package with the sizes and hashes it says, and that the
// signing key it names is the key the package is verified with.
func checkManifest(data []byte, hashes map[string]string, sizes map[string]int64, pub ed25519.PublicKey) []Problem {
	if data == nil {
		if _, present := hashes[ManifestFile]; !present {
			return []Problem{{ManifestFile, "missing"}}
		}
		return nil // unreadable: already reported
	}
	var m struct {
		Format     string    `json:"format"`
		SigningKey string    `json:"signing_key_sha256"`
		Files      []fileSum `json:"files"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return []Problem{{ManifestFile, "is not valid JSON: " + err.Error()}}
	}
	var probs []Problem
	if m.Format != Format {
		probs = append(probs, Problem{ManifestFile, fmt.Sprintf("format is %q, not %q", m.Format, Format)})
	}
	// Every package of this format names its key; one that names none had
	// the field removed, which would hide a re-signing from this check.
	if pub != nil && m.SigningKey == "" {
		probs = append(probs, Problem{ManifestFile, "names no signing key (signing_key_sha256): every package of this format does"})
	}
	if pub != nil && m.SigningKey != "" && !strings.EqualFold(m.SigningKey, Fingerprint(pub)) {
		probs = append(probs, Problem{ManifestFile, fmt.Sprintf("names signing key %s, but the package is verified with key %s: it was re-signed, or the wrong key was given", m.SigningKey, Fingerprint(pub))})
	}
	for _, f := range m.Files {
		got, present := hashes[f.Path]
		switch {
		case !present:
			probs = append(probs, Problem{f.Path, "listed in " + ManifestFile + " but missing from the package"})
		case got != "" && (got != f.SHA256 || sizes[f.Path] != f.Size):
			probs = append(probs, Problem{f.Path, fmt.Sprintf("does not match %s (size %d, SHA-256 %s there)", ManifestFile, f.Size, f.SHA256)})
		}
	}
	return probs
}

// Limits on a hostile archive. A package holds four fixed files and two
// per category, compressed a few times over (the zip reader refuses an
// entry longer than it declares, so declared sizes bound the work).
const (
	// MaxEntries bounds the entries of an archive Verify reads.
	MaxEntries = 256
	// bombSize and maxRatio: an entry that declares more than bombSize
	// bytes at more than maxRatio times its compressed size is refused
	// unread (deflate reaches about 1000:1 only on degenerate data).
	bombSize = 1 << 20
	maxRatio = 200
)

// archiveShape reports why an archive cannot be a package before any entry
// is read: too many entries, or entries whose compressed data together
// exceed the file (overlapping entries, the trick of the largest zip
// bombs); "" if neither.
func archiveShape(zr *zip.Reader, size int64) string {
	if len(zr.File) > MaxEntries {
		return fmt.Sprintf("holds %d entries; a package holds at most %d", len(zr.File), MaxEntries)
	}
	var total uint64
	for _, f := range zr.File {
		total += f.CompressedSize64
		if total > uint64(size) {
			return "its entries claim more compressed data than the file holds (overlapping entries, as in a zip bomb)"
		}
	}
	return ""
}

// typeName names a non-regular file type for a problem.
func typeName(t fs.FileMode) string {
	if t&fs.ModeSymlink != 0 {
		return "symbolic link"
	}
	return "special file (" + t.String() + ")"
}

// maxControlFile bounds what is read into memory of the control files.
const maxControlFile = 16 << 20

// hashEntry hashes one zip entry; keep also returns its bytes (for the
// small control files).
func hashEntry(f *zip.File, keep bool) (string, int64, []byte, error) {
	rc, err := f.Open()
	if err != nil {
		return "", 0, nil, err
	}
	defer rc.Close()
	h := sha256.New()
	var buf *bytes.Buffer
	w := io.Writer(h)
	if keep {
		buf = &bytes.Buffer{}
		w = io.MultiWriter(h, &limitedBuffer{buf: buf, left: maxControlFile})
	}
	n, err := io.Copy(w, rc) // the zip reader checks the CRC at the end
	if err != nil {
		return "", 0, nil, err
	}
	var data []byte
	if keep {
		data = buf.Bytes()
	}
	return hex.EncodeToString(h.Sum(nil)), n, data, nil
}

type limitedBuffer struct {
	buf  *bytes.Buffer
	left int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, fmt.Errorf("larger than %d bytes", maxControlFile)
	}
	l.left -= len(p)
	return l.buf.Write(p)
}

// parseSumLine parses "HASH  PATH" (text mode) or "HASH *PATH" (binary).
func parseSumLine(line string) (sum, name string, ok bool) {
	if len(line) < 67 || (line[64:66] != "  " && line[64:66] != " *") {
		return "", "", false
	}
	sum, name = line[:64], line[66:]
	if _, err := hex.DecodeString(sum); err != nil || strings.ToLower(sum) != sum || name == "" {
		return "", "", false
	}
	return sum, name, true
}

// safePath refuses absolute paths and climbing out of the folder the
// package is unzipped into, on any system: no backslash, no drive letter
// or other colon, no control character.
func safePath(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\:") ||
		strings.ContainsFunc(name, unicode.IsControl) {
		return false
	}
	clean := path.Clean(name)
	return clean == name && clean != ".." && !strings.HasPrefix(clean, "../")
}
