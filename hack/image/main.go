// Command image builds the tradeledger product image and the local
// cluster's pause image without a container daemon or a registry: static
// binaries laid on an empty base as one layer, written as a docker-archive
// tarball that `ctr images import` (or `docker load`) reads.
//
//	go run . product --bin ../../bin/image --tag tradeledger:dev --out ../../dist/tradeledger.tar
//	go run . pause   --bin ../../bin/image/pause --tag tradeledger.local/pause:v1 --out ../../dist/pause.tar
//	go run . ls ../../dist/tradeledger.tar
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const usage = `usage: image <command> [flags]

Builds OCI images without a container daemon or a registry.

commands:
  product  the product image: operator (entry point), ledgernode, ledgerctl
  pause    the pod sandbox image of the local cluster
  client   the E2E client image: the product binaries, waiting (pause) as entry point
  ls       list the files, user and entry point of an image tarball

Run "image <command> --help" for a command's flags.
`

type tags []string

func (t *tags) String() string     { return strings.Join(*t, ",") }
func (t *tags) Set(s string) error { *t = append(*t, s); return nil }

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		bin, pause, out, version, source, revision, created string
		refs                                                tags
	)
	switch cmd {
	case "product", "pause", "client":
		def := "../../bin/image"
		if cmd == "pause" {
			def = "../../bin/image/pause"
		}
		fs.StringVar(&bin, "bin", def, "product, client: the directory holding the static binaries; pause: the pause binary")
		fs.StringVar(&pause, "pause", "../../bin/image/pause/pause", "client: the pause binary")
		fs.StringVar(&out, "out", "", "the docker-archive tarball to write (required)")
		fs.Var(&refs, "tag", "image reference to record, e.g. tradeledger:dev (repeatable, at least one)")
		fs.StringVar(&version, "version", "dev", "org.opencontainers.image.version")
		fs.StringVar(&source, "source", "https://github.com/tradeledger/tradeledger", "org.opencontainers.image.source")
		fs.StringVar(&revision, "revision", "", "org.opencontainers.image.revision (a commit)")
		fs.StringVar(&created, "created", "", "image creation time, RFC 3339 or Unix seconds (default $SOURCE_DATE_EPOCH, else the Unix epoch: reproducible)")
	case "ls":
		fs.Usage = func() { fmt.Fprintln(stderr, "usage: image ls IMAGE.tar") }
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cmd == "ls" {
		if fs.NArg() != 1 {
			fs.Usage()
			return errors.New("ls needs one image tarball")
		}
		return list(fs.Arg(0), stdout)
	}
	if out == "" {
		return errors.New("--out: required (the tarball to write)")
	}
	if len(refs) == 0 {
		return errors.New("--tag: at least one image reference is required, e.g. --tag tradeledger:dev")
	}
	when, err := parseCreated(created)
	if err != nil {
		return err
	}
	labels := map[string]string{
		"org.opencontainers.image.title":    "tradeledger",
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.source":   source,
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.created":  when.UTC().Format(time.RFC3339),
	}
	if revision != "" {
		labels["org.opencontainers.image.revision"] = revision
	}
	var spec Spec
	switch cmd {
	case "product":
		labels["org.opencontainers.image.description"] = "tradeledger operator, ledgernode and ledgerctl"
		spec, err = ProductSpec(bin, labels, when)
	case "client":
		labels["org.opencontainers.image.title"] = "tradeledger-e2e-client"
		labels["org.opencontainers.image.description"] = "ledgerctl in a pod that waits, for the tradeledger E2E suite"
		spec, err = ClientSpec(bin, pause, labels, when)
	default:
		labels["org.opencontainers.image.title"] = "tradeledger-pause"
		labels["org.opencontainers.image.description"] = "pod sandbox for the tradeledger local cluster"
		spec, err = PauseSpec(bin, labels, when)
	}
	if err != nil {
		return err
	}
	img, err := Build(spec)
	if err != nil {
		return err
	}
	if err := write(out, refs, img); err != nil {
		return err
	}
	d, _ := img.Digest()
	fmt.Fprintf(stdout, "image: wrote %s (%s) as %s\n", out, d, refs.String())
	return nil
}

func parseCreated(s string) (time.Time, error) {
	if s == "" {
		s = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--created %q: want RFC 3339 (2026-12-02T10:00:00Z) or Unix seconds", s)
	}
	return t, nil
}

// write saves the image under every reference, atomically.
func write(out string, refs []string, img v1.Image) error {
	m := map[name.Reference]v1.Image{}
	for _, r := range refs {
		ref, err := name.NewTag(r)
		if err != nil {
			return fmt.Errorf("--tag %q: %w", r, err)
		}
		m[ref] = img
	}
	tmp := out + ".tmp"
	if err := tarball.MultiRefWriteToFile(tmp, m); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}

func list(p string, w io.Writer) error {
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "user %s\nentrypoint %q\nplatform %s/%s\n", cf.Config.User, cf.Config.Entrypoint, cf.OS, cf.Architecture)
	files, err := Files(img)
	if err != nil {
		return err
	}
	for _, f := range files {
		kind := "-"
		if f.Dir {
			kind = "d"
		}
		fmt.Fprintf(w, "%s %04o %d:%d %s\n", kind, f.Mode, f.UID, f.GID, f.Path)
	}
	return nil
}
