# syntax=docker/dockerfile:1
# One image with every binary: the operator (entry point), ledgernode (run
# by the LedgerNetwork pods as "ledgernode run") and ledgerctl.
#   make docker-image     # docker build -t tradeledger:dev .
#   make image            # the same image without docker (hack/image), dist/tradeledger.tar
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/operator . && \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ \
        ./ledgernode/cmd/ledgernode ./ledgernode/cmd/ledgerctl

# Static binaries on a distroless base: no shell, no package manager, and
# the nonroot user (65532) the node pods run as.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/operator"]
