# ferry in a container, beside the operator's own litecoind and/or bitcoind.
#
#   docker build -t ferry .
#   docker run -d --name ferry -p 127.0.0.1:8080:8080 -v ferry-data:/data \
#     -e FERRY_LTC_RPC=http://user:pass@litecoind:9332 \
#     -e FERRY_LTC_FEE_ADDRESS=ltc1q... \
#     -e FERRY_BTC_RPC=http://user:pass@bitcoind:8332 \
#     -e FERRY_BTC_FEE_ADDRESS=bc1q... ferry
#
# With Tor in another container: FERRY_TOR_SOCKS=tor:9050 for .onion
# callbacks; FERRY_TOR_CONTROL=tor:9051 with FERRY_TOR_ONION_LISTEN=0.0.0.0:8081
# and FERRY_TOR_ONION_TARGET=ferry:8081 for the onion service.
#
# Back up the seed in the volume (/data/seed) as soon as the first start
# has created it.

# ltcd's MWEB code links libsecp256k1-zkp through cgo, so the binary is
# built with cgo and linked statically (pure-Go DNS resolver and user
# lookup) to run on scratch.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV GOTOOLCHAIN=local CGO_ENABLED=1
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -tags netgo,osusergo \
      -ldflags='-s -w -linkmode external -extldflags "-static"' \
      -o /out/ferry ./cmd/ferry \
 && mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ferry /ferry
COPY --from=build --chown=10001:10001 /out/data /data
USER 10001:10001
ENV FERRY_LISTEN=0.0.0.0:8080 FERRY_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/ferry"]
