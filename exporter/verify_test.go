package exporter

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"testing"

	"envelope/cases/store/storetest"
)

// hostileZip writes a genuine package's files, in a fixed order, then lets
// add write hostile entries into the same archive.
func hostileZip(t *testing.T, files map[string][]byte, add func(zw *zip.Writer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[name])
	}
	if add != nil {
		add(zw)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// entry adds a file entry with the given name and mode.
func entry(zw *zip.Writer, name string, mode fs.FileMode, content string) {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate}
	h.SetMode(mode)
	w, err := zw.CreateHeader(h)
	if err != nil {
		panic(err)
	}
	w.Write([]byte(content))
}

// overlapping rewrites a zip's central directory so that its first entry
// is listed n times under different names, all pointing at the same data:
// the construction of the non-recursive zip bombs.
func overlapping(t *testing.T, z []byte, n int) []byte {
	t.Helper()
	eocd := bytes.LastIndex(z, []byte("PK\x05\x06"))
	cdSize := binary.LittleEndian.Uint32(z[eocd+12:])
	cdOff := binary.LittleEndian.Uint32(z[eocd+16:])
	first := z[cdOff : cdOff+cdSize]
	nameLen := int(binary.LittleEndian.Uint16(first[28:]))
	rec := first[:46+nameLen+int(binary.LittleEndian.Uint16(first[30:]))+int(binary.LittleEndian.Uint16(first[32:]))]
	var cd bytes.Buffer
	for i := range n {
		r := bytes.Clone(rec)
		copy(r[46:46+nameLen], fmt.Sprintf("%0*d", nameLen, i)) // same length, new name
		cd.Write(r)
	}
	out := append(bytes.Clone(z[:cdOff]), cd.Bytes()...)
	end := bytes.Clone(z[eocd : eocd+22])
	binary.LittleEndian.PutUint16(end[8:], uint16(n))
	binary.LittleEndian.PutUint16(end[10:], uint16(n))
	binary.LittleEndian.PutUint32(end[12:], uint32(cd.Len()))
	return append(out, end...)
}

// Hostile archives are refused with a problem that names the entry and
// says what is wrong with it, before anything of a bomb is inflated. A
// genuine package with a hostile entry added is no longer intact.
func TestVerifyRefusesHostileArchives(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t))
	f.importFile("records.ndjson")
	pkg := f.export(f.warrant())
	pub := f.exp.Builder.Signer.Public()
	files := unzip(t, f.path(pkg))
	genuine := hostileZip(t, files, nil)
	if probs := Verify(bytes.NewReader(genuine), int64(len(genuine)), pub); len(probs) != 0 {
		t.Fatalf("the re-zipped genuine package has problems: %v", probs)
	}
	// addOne: the genuine files plus one entry of that name and mode.
	addOne := func(name string, mode fs.FileMode) func() []byte {
		return func() []byte {
			return hostileZip(t, files, func(zw *zip.Writer) { entry(zw, name, mode, "x\n") })
		}
	}
	zeros := strings.Repeat("\x00", 2<<20)
	tests := []struct {
		name      string
		zip       func() []byte
		file, why string
	}{
		{"parent", addOne("../x", 0o644), "../x", "unsafe path"},
		{"absolute", addOne("/tmp/envelope-abs", 0o644), "/tmp/envelope-abs", "unsafe path"},
		{"climbs back out", addOne("a/../../b", 0o644), "a/../../b", "unsafe path"},
		{"not clean", addOne("records/./x.csv", 0o644), "records/./x.csv", "unsafe path"},
		{"backslash", addOne(`..\x`, 0o644), `..\x`, "unsafe path"},
		{"drive letter", addOne("C:/Windows/x", 0o644), "C:/Windows/x", "unsafe path"},
		{"control character", addOne("records/x\x00.csv", 0o644), "records/x\x00.csv", "unsafe path"},
		{"directory climbing out", addOne("../evil/", fs.ModeDir|0o755), "../evil/", "unsafe path"},
		{"symbolic link", addOne("records/link.csv", fs.ModeSymlink|0o777), "records/link.csv", "symbolic link"},
		{"named pipe", addOne("records/fifo.csv", fs.ModeNamedPipe|0o644), "records/fifo.csv", "special file"},
		{"duplicate", addOne(ManifestFile, 0o644), ManifestFile, "appears twice"},
		{"zip bomb", func() []byte {
			return hostileZip(t, files, func(zw *zip.Writer) { entry(zw, "records/bomb.csv", 0o644, zeros) })
		}, "records/bomb.csv", "zip bomb"},
		{"huge declared size", func() []byte {
			return hostileZip(t, files, func(zw *zip.Writer) {
				w, err := zw.CreateRaw(&zip.FileHeader{Name: "records/huge.csv", Method: zip.Store,
					CompressedSize64: 4, UncompressedSize64: 1 << 50})
				if err != nil {
					t.Fatal(err)
				}
				w.Write([]byte("x,y\n"))
			})
		}, "records/huge.csv", "zip bomb"},
		{"overlapping entries", func() []byte {
			one := hostileZip(t, map[string][]byte{"records/bomb.csv": []byte(zeros[:64<<10])}, nil)
			return overlapping(t, one, 200)
		}, "(zip)", "overlapping entries"},
		{"too many entries", func() []byte {
			return hostileZip(t, files, func(zw *zip.Writer) {
				for i := range MaxEntries {
					entry(zw, fmt.Sprintf("records/extra-%d.csv", i), 0o644, "x")
				}
			})
		}, "(zip)", "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := tt.zip()
			probs := Verify(bytes.NewReader(z), int64(len(z)), pub)
			found := false
			for _, p := range probs {
				if p.File == tt.file && strings.Contains(p.Problem, tt.why) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %v do not say %s: %q", probs, tt.file, tt.why)
			}
		})
	}
}

// A manifest stripped of the key it names would let a package re-signed
// with another key pass the manifest's own check: its absence is a problem.
func TestManifestMustNameItsKey(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		manifest string
		problem  string
	}{
		{`{"format":"` + Format + `","files":[]}`, "names no signing key"},
		{`{"format":"` + Format + `","signing_key_sha256":"` + strings.Repeat("ab", 32) + `","files":[]}`, "names signing key"},
		{`{"format":"` + Format + `","signing_key_sha256":"` + Fingerprint(pub) + `","files":[]}`, ""},
	} {
		probs := checkManifest([]byte(c.manifest), map[string]string{}, map[string]int64{}, pub)
		got := fmt.Sprint(probs)
		if c.problem == "" && len(probs) != 0 || c.problem != "" && !strings.Contains(got, c.problem) {
			t.Errorf("%s: problems %s, want %q", c.manifest, got, c.problem)
		}
	}
}
