using Microsoft.Extensions.Logging;
using Patronus.Agent.Datapath;
using Patronus.Agent.Datapath.Ebpf;
using Patronus.Agent.Datapath.Nftables;
using Patronus.Agent.Hosting;
using Patronus.Agent.Tests.Datapath.Nftables;

using Patronus.Agent.Tests.Support;

namespace Patronus.Agent.Tests.Datapath.Ebpf;

/// <summary>--datapath ebpf|auto: eBPF where it loads, and where it cannot, a refusal (ebpf) or nftables (auto) saying why.</summary>
public sealed class DatapathSelectionTests : IDisposable
{
    private readonly PodNetworkLab _lab = new("a");
    private readonly TestBpffs _bpffs = new();
    private readonly RecordingLoggers _logs = new();

    public void Dispose()
    {
        _lab.Dispose();
        _bpffs.Dispose();
    }

    private AgentOptions Options(string datapath, string bpffs) => new() { Datapath = datapath, Netns = _lab.NodePath, Bpffs = bpffs, Bridge = "br0" };

    private IPolicyDatapath Create(AgentOptions options) => DatapathFactory.Create(options, LoggerFactory.Create(b => b.AddProvider(_logs)));

    [Fact]
    public void Auto_WhereBpfLoads_TakesEbpf()
    {
        var datapath = Create(Options("auto", _bpffs.Path));
        using var disposable = (IDisposable)datapath;

        Assert.IsType<EbpfDatapath>(datapath);
        Assert.Equal("ebpf", DatapathFactory.NameOf(datapath));
    }

    [Fact]
    public void Auto_WhereBpfCannotLoad_FallsBackToNftables_AndSaysWhy()
    {
        // A bpffs cannot be made under /proc: the load fails as it would without the privilege to mount one.
        var datapath = Create(Options("auto", "/proc/patronus-no-bpffs"));
        using var disposable = (IDisposable)datapath;

        Assert.IsType<NftablesDatapath>(datapath);
        Assert.Equal("nftables", DatapathFactory.NameOf(datapath));
        var line = Assert.Single(_logs.Messages, m => m.Contains("eBPF is not available"));
        Assert.Contains("/proc/patronus-no-bpffs", line);
        Assert.Contains("using nftables", line);
    }

    [Fact]
    public void Ebpf_WhereBpfCannotLoad_RefusesSayingWhy()
    {
        var error = Assert.Throws<EbpfUnavailableException>(() => Create(Options("ebpf", "/proc/patronus-no-bpffs")));

        Assert.Contains("/proc/patronus-no-bpffs", error.Message);
    }
}
