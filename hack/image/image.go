package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// nonroot is distroless' nonroot user and group, which the Dockerfile's
// base image runs as and the node pods' securityContext names.
const nonroot = 65532

// ProductBinaries go to /usr/local/bin in the product image, as the
// Dockerfile's final stage copies them (a test holds the two together).
var ProductBinaries = []string{"operator", "ledgernode", "ledgerctl"}

// File is one entry of the image's single layer.
type File struct {
	Path     string // absolute path in the image
	Mode     int64  // permission bits
	UID, GID int
	Dir      bool
	Body     []byte // contents, when Source is empty
	Source   string // a file on this machine to copy
}

// Spec says what an image holds and how it runs.
type Spec struct {
	Files      []File
	User       string
	Entrypoint []string
	Cmd        []string
	WorkingDir string
	Env        []string
	Labels     map[string]string
	Created    time.Time
}

// baseFiles stand in for what distroless/static:nonroot gives the
// Dockerfile's image: the users, a home for nonroot and a /tmp.
func baseFiles() []File {
	return []File{
		{Path: "/etc", Mode: 0o755, Dir: true},
		{Path: "/etc/passwd", Mode: 0o644, Body: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{Path: "/etc/group", Mode: 0o644, Body: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{Path: "/home", Mode: 0o755, Dir: true},
		{Path: "/home/nonroot", Mode: 0o700, Dir: true, UID: nonroot, GID: nonroot},
		{Path: "/tmp", Mode: 0o1777, Dir: true},
	}
}

// ProductSpec is the product image: the static binaries found in binDir
// (each of ProductBinaries must be there), non-root, the operator as
// entry point, OCI labels from labels.
func ProductSpec(binDir string, labels map[string]string, created time.Time) (Spec, error) {
	files := append(baseFiles(),
		File{Path: "/usr", Mode: 0o755, Dir: true},
		File{Path: "/usr/local", Mode: 0o755, Dir: true},
		File{Path: "/usr/local/bin", Mode: 0o755, Dir: true})
	for _, b := range ProductBinaries {
		src := filepath.Join(binDir, b)
		if err := checkExecutable(src); err != nil {
			return Spec{}, fmt.Errorf("product binary %s: %w (build it with CGO_ENABLED=0 into %s: make image does)", b, err, binDir)
		}
		files = append(files, File{Path: "/usr/local/bin/" + b, Mode: 0o755, Source: src})
	}
	return Spec{
		Files:      files,
		User:       fmt.Sprintf("%d:%d", nonroot, nonroot),
		Entrypoint: []string{"/usr/local/bin/operator"},
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin"},
		WorkingDir: "/home/nonroot",
		Labels:     labels,
		Created:    created,
	}, nil
}

// ClientSpec is the E2E suite's client pod: the product image's binaries
// with the pause program as entry point, so that the pod stays up and
// `kubectl exec` runs ledgerctl in it (the product image has no shell and
// nothing that waits).
func ClientSpec(binDir, pause string, labels map[string]string, created time.Time) (Spec, error) {
	s, err := ProductSpec(binDir, labels, created)
	if err != nil {
		return Spec{}, err
	}
	if err := checkExecutable(pause); err != nil {
		return Spec{}, fmt.Errorf("pause binary: %w", err)
	}
	s.Files = append(s.Files, File{Path: "/usr/local/bin/pause", Mode: 0o755, Source: pause})
	s.Entrypoint = []string{"/usr/local/bin/pause"}
	return s, nil
}

// PauseSpec is the pod sandbox image: one static binary that waits.
func PauseSpec(bin string, labels map[string]string, created time.Time) (Spec, error) {
	if err := checkExecutable(bin); err != nil {
		return Spec{}, fmt.Errorf("pause binary: %w", err)
	}
	return Spec{
		Files:      append(baseFiles(), File{Path: "/pause", Mode: 0o755, Source: bin}),
		User:       fmt.Sprintf("%d:%d", nonroot, nonroot),
		Entrypoint: []string{"/pause"},
		Labels:     labels,
		Created:    created,
	}, nil
}

func checkExecutable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// Build lays the spec's files as one layer on an empty base and sets the
// config. The layer is reproducible: sorted entries, fixed times and owners.
func Build(s Spec) (v1.Image, error) {
	layerTar, err := layerBytes(s.Files, s.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	cf.Created = v1.Time{Time: s.Created.UTC()}
	cf.Config.User = s.User
	cf.Config.Entrypoint = s.Entrypoint
	cf.Config.Cmd = s.Cmd
	cf.Config.Env = s.Env
	cf.Config.WorkingDir = s.WorkingDir
	cf.Config.Labels = s.Labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return mutate.CreatedAt(img, v1.Time{Time: s.Created.UTC()})
}

func layerBytes(files []File, mtime time.Time) ([]byte, error) {
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	seen := map[string]bool{}
	for _, f := range sorted {
		name := strings.TrimPrefix(path.Clean(f.Path), "/")
		if name == "" || name == "." || !path.IsAbs(f.Path) {
			return nil, fmt.Errorf("file path %q: must be absolute and not /", f.Path)
		}
		if seen[name] {
			return nil, fmt.Errorf("file path %q: listed twice", f.Path)
		}
		seen[name] = true
		if dir := path.Dir(name); dir != "." && !seen[dir] {
			return nil, fmt.Errorf("file path %q: its directory /%s is not in the layer", f.Path, dir)
		}
		hdr := &tar.Header{Name: name, Mode: f.Mode, Uid: f.UID, Gid: f.GID, ModTime: mtime.UTC(), Format: tar.FormatPAX}
		body := f.Body
		if f.Dir {
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		} else {
			hdr.Typeflag = tar.TypeReg
			if f.Source != "" {
				b, err := os.ReadFile(f.Source)
				if err != nil {
					return nil, fmt.Errorf("read %s for %s: %w", f.Source, f.Path, err)
				}
				body = b
			}
			hdr.Size = int64(len(body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if !f.Dir {
			if _, err := tw.Write(body); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ImageFile is one entry of an image's flattened file system.
type ImageFile struct {
	Path     string
	Mode     int64
	UID, GID int
	Dir      bool
}

// Files lists an image's flattened file system, sorted by path.
func Files(img v1.Image) ([]ImageFile, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []ImageFile
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read image file system: %w", err)
		}
		out = append(out, ImageFile{Path: "/" + strings.TrimSuffix(h.Name, "/"), Mode: h.Mode & 0o7777,
			UID: h.Uid, GID: h.Gid, Dir: h.Typeflag == tar.TypeDir})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
