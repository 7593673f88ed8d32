// Package validate checks Shipshape's deployment files where Docker and a
// Kubernetes API server are not available: the Kubernetes manifests are
// decoded strictly into the k8s.io/api types (unknown fields fail), the
// compose file is loaded and schema-validated by compose-go (what `docker
// compose config` uses), and the Dockerfile, compose file, Prometheus
// configuration and manifests are checked against each other and against
// the worker's flags. It is its own module so that the Kubernetes and
// compose libraries stay out of Shipshape's go.mod; run it with
// `make deploy-check`.
package validate
