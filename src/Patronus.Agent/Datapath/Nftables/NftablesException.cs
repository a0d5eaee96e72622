namespace Patronus.Agent.Datapath.Nftables;

/// <summary>libnftables refused a command; <see cref="Exception.Message"/> carries its own error text.</summary>
public sealed class NftablesException(string message) : Exception(message);
