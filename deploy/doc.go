// Package deploy holds what runs ferry on a host: the systemd unit
// (ferry.service) and the settings file it reads (ferry.env). Its tests
// check the unit with systemd-analyze. The container image is the
// repository's Dockerfile, tested by cmd/ferry's TestImage.
package deploy
