# envelope in a container (docker-compose.yml, docs/operations.md "Three
# instances with docker compose"). SQLite needs cgo, so the build stage has
# a C compiler; the runtime stage has the PostgreSQL client for
# `envelope backup` of a PostgreSQL database, and nothing else.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -o /out/envelope ./cmd/envelope

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/envelope envelope \
 && mkdir -p /keys /var/lib/envelope/packages \
 && chown -R envelope /keys /var/lib/envelope \
 && chmod 700 /keys /var/lib/envelope
COPY --from=build /out/envelope /usr/local/bin/envelope
USER envelope
WORKDIR /var/lib/envelope
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/envelope"]
CMD ["serve", "--addr", "0.0.0.0:8080"]
