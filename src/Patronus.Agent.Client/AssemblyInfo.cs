// Patronus.Agent.Client
