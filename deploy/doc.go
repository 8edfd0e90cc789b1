// Package deploy checks the deployment files statically, since no container
// engine or cluster exists where lakeflight is built: the Dockerfiles, the
// compose stack (compose.yaml, deploy/compose), the Kubernetes manifests
// (deploy/k8s) and the Airflow Helm values (deploy/airflow). Its tests load
// them with the real parsers (compose-go, the Kubernetes API types) and hold
// them to the server's real configuration code (internal/config), so a
// setting the server does not know, a port that does not match or a
// secret nobody defines fails `go test`. It has no code of its own.
package deploy
