// The image builder is its own module: go-containerregistry and what it
// pulls in (docker/cli, moby) stay out of the product's go.mod, and
// `go list ./...` in the repository root never sees this folder.
module github.com/tradeledger/tradeledger/hack/image

go 1.26.0

require github.com/google/go-containerregistry v0.22.1

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
)
