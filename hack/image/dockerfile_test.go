package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// finalStage is what the Dockerfile's last stage puts in the image.
type finalStage struct {
	files      []string // absolute paths of the copied binaries
	user       string
	entrypoint []string
}

// parseDockerfile reads the binaries the build stage writes into the
// directory the final stage copies from (`go build -o /out/NAME` or
// `go build -o /out/ ./pkg...`), where the final stage puts them, its USER
// and its ENTRYPOINT.
func parseDockerfile(text string) (finalStage, error) {
	// Join continuation lines, drop comments.
	var lines []string
	cur := ""
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "#") {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur += strings.TrimSuffix(t, "\\") + " "
			continue
		}
		cur += t
		if cur != "" {
			lines = append(lines, cur)
		}
		cur = ""
	}
	type stage struct {
		name  string
		lines []string
	}
	var stages []stage
	for _, l := range lines {
		f := strings.Fields(l)
		if strings.EqualFold(f[0], "FROM") {
			s := stage{}
			if n := len(f); n >= 4 && strings.EqualFold(f[n-2], "AS") {
				s.name = f[n-1]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, l)
		}
	}
	if len(stages) < 2 {
		return finalStage{}, fmt.Errorf("want a build stage and a final stage, found %d stages", len(stages))
	}
	final := stages[len(stages)-1]
	var out finalStage
	for _, l := range final.lines {
		f := strings.Fields(l)
		switch strings.ToUpper(f[0]) {
		case "USER":
			out.user = f[1]
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(strings.TrimSpace(l[len(f[0]):])), &out.entrypoint); err != nil {
				return finalStage{}, fmt.Errorf("ENTRYPOINT %q: want the exec (JSON) form: %w", l, err)
			}
		case "COPY":
			var from string
			var args []string
			for _, a := range f[1:] {
				if v, ok := strings.CutPrefix(a, "--from="); ok {
					from = v
				} else if !strings.HasPrefix(a, "--") {
					args = append(args, a)
				}
			}
			if from == "" || len(args) != 2 {
				return finalStage{}, fmt.Errorf("COPY %q: the test understands COPY --from=STAGE SRC DEST only", l)
			}
			src, dest := args[0], args[1]
			var build *stage
			for i := range stages {
				if stages[i].name == from {
					build = &stages[i]
				}
			}
			if build == nil {
				return finalStage{}, fmt.Errorf("COPY --from=%s: no such stage", from)
			}
			bins := binariesWritten(build.lines, src)
			if len(bins) == 0 {
				return finalStage{}, fmt.Errorf("stage %s writes nothing into %s", from, src)
			}
			for _, b := range bins {
				out.files = append(out.files, path.Join(dest, b))
			}
		}
	}
	slices.Sort(out.files)
	return out, nil
}

// binariesWritten finds `go build ... -o DIR/NAME` and
// `go build ... -o DIR/ pkg pkg...` in a stage's RUN lines.
func binariesWritten(lines []string, dir string) []string {
	dir = strings.TrimSuffix(dir, "/") + "/"
	var bins []string
	cmdRe := regexp.MustCompile(`go build\b[^&;]*`)
	for _, l := range lines {
		if !strings.HasPrefix(strings.ToUpper(l), "RUN ") {
			continue
		}
		for _, cmd := range cmdRe.FindAllString(l, -1) {
			f := strings.Fields(cmd)
			for i := 0; i < len(f)-1; i++ {
				if f[i] != "-o" || !strings.HasPrefix(f[i+1], dir) {
					continue
				}
				if rest := strings.TrimPrefix(f[i+1], dir); rest != "" {
					bins = append(bins, rest)
					continue
				}
				for _, pkg := range f[i+2:] {
					if strings.HasPrefix(pkg, "-") {
						break
					}
					bins = append(bins, path.Base(pkg))
				}
			}
		}
	}
	return bins
}

// compareWithDockerfile says how the image differs from the final stage:
// the binaries under the final stage's destinations, user and entry point.
func compareWithDockerfile(st finalStage, img v1.Image) error {
	files, err := Files(img)
	if err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, f := range st.files {
		dirs[path.Dir(f)] = true
	}
	var got []string
	base := map[string]bool{}
	for _, b := range baseFiles() {
		base[b.Path] = true
	}
	var extra []string
	for _, f := range files {
		switch {
		case !f.Dir && dirs[path.Dir(f.Path)]:
			got = append(got, f.Path)
		case f.Dir || base[f.Path]:
		default:
			extra = append(extra, f.Path)
		}
	}
	var problems []string
	if !slices.Equal(got, st.files) {
		problems = append(problems, fmt.Sprintf("binaries: image has %v, Dockerfile copies %v", got, st.files))
	}
	if len(extra) > 0 {
		problems = append(problems, fmt.Sprintf("files neither copied by the Dockerfile nor part of its base: %v", extra))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	if cf.Config.User != st.user {
		problems = append(problems, fmt.Sprintf("user: image %q, Dockerfile %q", cf.Config.User, st.user))
	}
	if !slices.Equal(cf.Config.Entrypoint, st.entrypoint) {
		problems = append(problems, fmt.Sprintf("entrypoint: image %q, Dockerfile %q", cf.Config.Entrypoint, st.entrypoint))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// fakeBinaries writes executable stand-ins for the product binaries: the
// file list is under test here, not the programs.
func fakeBinaries(t *testing.T, names []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/false\n"+n+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readDockerfile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatalf("read the repository's Dockerfile: %v", err)
	}
	return string(b)
}

func TestProductImageHoldsWhatTheDockerfileFinalStageCopies(t *testing.T) {
	st, err := parseDockerfile(readDockerfile(t))
	if err != nil {
		t.Fatal(err)
	}
	// The parse found the binaries, user and entry point at all.
	if len(st.files) == 0 || st.user == "" || len(st.entrypoint) == 0 {
		t.Fatalf("Dockerfile parse found too little: %+v", st)
	}
	spec, err := ProductSpec(fakeBinaries(t, ProductBinaries), map[string]string{"org.opencontainers.image.version": "test"}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := compareWithDockerfile(st, img); err != nil {
		t.Fatalf("the image differs from the Dockerfile: %v", err)
	}
}

func TestDockerfileCopyingAnotherBinaryIsReportedAsDrift(t *testing.T) {
	df := strings.Replace(readDockerfile(t), "./ledgernode/cmd/ledgerctl", "./ledgernode/cmd/ledgerctl ./ledgernode/cmd/ledgerbench", 1)
	st, err := parseDockerfile(df)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(st.files, "/usr/local/bin/ledgerbench") {
		t.Fatalf("setup: the edited Dockerfile should copy ledgerbench, parsed %v", st.files)
	}
	spec, err := ProductSpec(fakeBinaries(t, ProductBinaries), nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	err = compareWithDockerfile(st, img)
	if err == nil || !strings.Contains(err.Error(), "binaries:") || !strings.Contains(err.Error(), "ledgerbench") {
		t.Fatalf("want a binaries drift naming ledgerbench, got %v", err)
	}
}

func TestDockerfileWithAnotherUserIsReportedAsDrift(t *testing.T) {
	df := strings.Replace(readDockerfile(t), "USER 65532:65532", "USER 0:0", 1)
	st, err := parseDockerfile(df)
	if err != nil {
		t.Fatal(err)
	}
	if st.user != "0:0" {
		t.Fatalf("setup: edited Dockerfile user %q", st.user)
	}
	spec, err := ProductSpec(fakeBinaries(t, ProductBinaries), nil, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := Build(spec)
	if err := compareWithDockerfile(st, img); err == nil || !strings.Contains(err.Error(), "user:") {
		t.Fatalf("want a user drift, got %v", err)
	}
}

func TestProductSpecNamesTheMissingBinary(t *testing.T) {
	_, err := ProductSpec(fakeBinaries(t, []string{"operator", "ledgernode"}), nil, time.Unix(0, 0))
	if err == nil || !strings.Contains(err.Error(), "product binary ledgerctl") {
		t.Fatalf("want an error naming ledgerctl, got %v", err)
	}
}

func TestImageTarballRoundTripsWithLabelsUserAndOwners(t *testing.T) {
	labels := map[string]string{"org.opencontainers.image.version": "v9", "org.opencontainers.image.licenses": "Apache-2.0"}
	spec, err := ProductSpec(fakeBinaries(t, ProductBinaries), labels, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	img, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "img.tar")
	if err := write(out, []string{"tradeledger:dev", "tradeledger:dev2"}, img); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"tradeledger:dev", "tradeledger:dev2"} {
		ref, _ := name.NewTag(tag)
		back, err := tarball.ImageFromPath(out, &ref)
		if err != nil {
			t.Fatalf("read back %s: %v", tag, err)
		}
		cf, err := back.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != "65532:65532" || cf.OS != "linux" || cf.Architecture == "" {
			t.Fatalf("%s: user %q platform %s/%s", tag, cf.Config.User, cf.OS, cf.Architecture)
		}
		if cf.Config.Labels["org.opencontainers.image.version"] != "v9" || !cf.Created.Time.Equal(time.Unix(1700000000, 0)) {
			t.Fatalf("%s: labels %v created %v", tag, cf.Config.Labels, cf.Created)
		}
		files, err := Files(back)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Path == "/home/nonroot" && (f.UID != nonroot || f.GID != nonroot) {
				t.Fatalf("/home/nonroot owned by %d:%d, want the nonroot user", f.UID, f.GID)
			}
			if f.Path == "/usr/local/bin/ledgernode" && f.Mode != 0o755 {
				t.Fatalf("ledgernode mode %o", f.Mode)
			}
		}
	}
}

func TestBuildIsReproducible(t *testing.T) {
	bins := fakeBinaries(t, ProductBinaries)
	digest := func() v1.Hash {
		spec, err := ProductSpec(bins, map[string]string{"a": "b"}, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		img, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if a, b := digest(), digest(); a != b {
		t.Fatalf("two builds of the same input: %s and %s", a, b)
	}
}

func TestLayerRefusesAFileOutsideTheLayersDirectories(t *testing.T) {
	_, err := layerBytes([]File{{Path: "/usr/local/bin/x", Mode: 0o755, Body: []byte("x")}}, time.Unix(0, 0))
	if err == nil || !strings.Contains(err.Error(), "its directory /usr/local/bin is not in the layer") {
		t.Fatalf("want a missing-directory error, got %v", err)
	}
}
