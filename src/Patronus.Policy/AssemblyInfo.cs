// Patronus.Policy
