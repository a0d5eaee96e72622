using Microsoft.Extensions.Logging;
using Patronus.Agent.Datapath.Ebpf;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Hosting;

namespace Patronus.Agent.Datapath;

public static partial class DatapathFactory
{
    /// <summary>
    /// The datapath named by <c>--datapath</c>, programming the agent's own network namespace (the node's, with
    /// hostNetwork). <c>auto</c> takes eBPF where it can load and nftables where it cannot, saying why.
    /// </summary>
    public static IPolicyDatapath Create(AgentOptions options, ILoggerFactory loggers) => options.Datapath switch
    {
        "none" => new NoDatapath(),
        "nftables" => Nftables(options, loggers),
        "ebpf" => Ebpf(options, loggers),
        "auto" => EbpfOrNftables(options, loggers),
        _ => throw new AgentOptionsException($"option 'datapath' is '{options.Datapath}'; expected nftables, ebpf, auto or none"),
    };

    /// <summary>The name `patronus status` shows for a datapath; null for one this factory does not make (test doubles).</summary>
    public static string? NameOf(IPolicyDatapath datapath) => datapath switch
    {
        EbpfDatapath => "ebpf",
        NftablesDatapath => "nftables",
        NoDatapath => "none",
        _ => null,
    };

    private static NftablesDatapath Nftables(AgentOptions options, ILoggerFactory loggers) =>
        new(new NftablesDatapathOptions { NetworkNamespacePath = options.Netns }, loggers.CreateLogger<NftablesDatapath>());

    private static EbpfDatapath Ebpf(AgentOptions options, ILoggerFactory loggers)
    {
        if (EbpfSupport.Missing() is { } missing)
            throw new EbpfUnavailableException(missing);
        try
        {
            return new EbpfDatapath(
                new EbpfDatapathOptions { Bpffs = options.Bpffs, Bridge = options.Bridge, NetworkNamespacePath = options.Netns },
                loggers.CreateLogger<EbpfDatapath>());
        }
        catch (DllNotFoundException)
        {
            throw new EbpfUnavailableException("libbpf (libbpf.so.1, Debian package libbpf1) is not installed");
        }
        catch (Exception e) when (e is BpfException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new EbpfUnavailableException(e.Message);
        }
    }

    private static IPolicyDatapath EbpfOrNftables(AgentOptions options, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(DatapathFactory).FullName!);
        try
        {
            var datapath = Ebpf(options, loggers);
            Log.AutoChoseEbpf(logger);
            return datapath;
        }
        catch (EbpfUnavailableException e)
        {
            Log.AutoFellBack(logger, e.Message);
            return Nftables(options, loggers);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Datapath auto: using eBPF")]
        public static partial void AutoChoseEbpf(ILogger logger);

        [LoggerMessage(2, LogLevel.Warning, "Datapath auto: eBPF is not available here ({Reason}); using nftables")]
        public static partial void AutoFellBack(ILogger logger, string reason);
    }
}
