//go:build tools

// Package tools pins Traefik's command in this wrapper module, so `go mod tidy` keeps what build.sh builds.
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
