using Microsoft.Extensions.Logging;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Hosting;

namespace Patronus.Agent.Datapath;

public static class DatapathFactory
{
    /// <summary>The datapath named by <c>--datapath</c>; nftables programs the agent's own network namespace (the node's, with hostNetwork).</summary>
    public static IPolicyDatapath Create(AgentOptions options, ILoggerFactory loggers) => options.Datapath switch
    {
        "none" => new NoDatapath(),
        "nftables" => new NftablesDatapath(new NftablesDatapathOptions { NetworkNamespacePath = options.Netns }, loggers.CreateLogger<NftablesDatapath>()),
        _ => throw new AgentOptionsException($"option 'datapath' is '{options.Datapath}'; expected nftables or none"),
    };
}
