# ferry in a container, beside the operator's own litecoind and/or bitcoind.
# README.md, "Docker", has the commands; in short:
#
#   make image        # buildah build --isolation chroot -t ferry .
#   docker build -t ferry .
#   docker run -d --name ferry --restart unless-stopped --network host \
#     -v ferry-data:/data -e FERRY_LISTEN=127.0.0.1:8080 \
#     -e FERRY_LTC_RPC=http://user:pass@127.0.0.1:9332 \
#     -e FERRY_LTC_FEE_ADDRESS=ltc1q... ferry
#
# On a container network, with Tor in another container: FERRY_TOR_SOCKS=tor:9050 for .onion
# callbacks; FERRY_TOR_CONTROL=tor:9051 with FERRY_TOR_ONION_LISTEN=0.0.0.0:8081
# and FERRY_TOR_ONION_TARGET=ferry:8081 for the onion service.
#
# Back up the seed in the volume (/data/seed) as soon as the first start
# has created it.

# ltcd's MWEB code links libsecp256k1-zkp through cgo, so the binary is
# built with cgo and linked statically (pure-Go DNS resolver and user
# lookup) to run on scratch. The Go caches are cache mounts, kept between
# builds.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV GOTOOLCHAIN=local CGO_ENABLED=1
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -tags netgo,osusergo \
      -ldflags='-s -w -linkmode external -extldflags "-static"' \
      -o /out/ferry ./cmd/ferry \
 && mkdir -p /out/volume \
 && mkdir -m 0700 /out/volume/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ferry /ferry
# The data directory, 0700 and the user's: copied as the content of
# /out/volume, so that it keeps its mode (a named volume takes it from the
# image).
COPY --from=build --chown=10001:10001 /out/volume/ /
USER 10001:10001
ENV FERRY_LISTEN=0.0.0.0:8080 FERRY_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/ferry"]
