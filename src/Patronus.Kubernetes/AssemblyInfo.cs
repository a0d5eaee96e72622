// Patronus.Kubernetes
