using Patronus.Agent.Hosting;

namespace Patronus.Agent.Datapath;

public static class DatapathFactory
{
    public static IPolicyDatapath Create(AgentOptions options) => options.Datapath switch
    {
        "none" => new NoDatapath(),
        // The nftables datapath lives in Datapath/Nftables and is wired here when it is merged.
        "nftables" => throw new AgentOptionsException("datapath 'nftables' is not available in this build; use --datapath none"),
        _ => throw new AgentOptionsException($"option 'datapath' is '{options.Datapath}'; expected nftables or none"),
    };
}
