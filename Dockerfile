# ferry in a container, beside the operator's own litecoind.
#
#   docker build -t ferry .
#   docker run -d --name ferry -p 127.0.0.1:8080:8080 -v ferry-data:/data \
#     -e FERRY_LTC_RPC=http://user:pass@litecoind:9332 \
#     -e FERRY_LTC_FEE_ADDRESS=ltc1q... ferry
#
# Back up the seed in the volume (/data/seed) as soon as the first start
# has created it.

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV GOTOOLCHAIN=local CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags="-s -w" -o /out/ferry ./cmd/ferry \
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
