namespace Patronus.Agent.Client;

/// <summary>The agent could not be reached: its socket is absent, refuses connections, or did not answer in time.</summary>
public sealed class AgentUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The agent answered, and refused the request; <see cref="Exception.Message"/> is the agent's own explanation.</summary>
public sealed class AgentRejectedException(string message) : Exception(message);
