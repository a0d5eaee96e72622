using Patronus.Agent.Hosting;

namespace Patronus.Agent.Tests.Hosting;

public sealed class AgentOptionsTests : IDisposable
{
    private readonly AgentPaths _paths = new();

    public void Dispose() => _paths.Dispose();

    [Theory]
    [InlineData(new[] { "--frobnicate", "1" }, "unknown option '--frobnicate'")]
    [InlineData(new[] { "--socket" }, "option '--socket' needs a value")]
    [InlineData(new[] { "--datapath", "ebpf" }, "option 'datapath' is 'ebpf'; expected nftables or none")]
    [InlineData(new[] { "--metrics-address", "localhost" }, "option 'metrics-address' is 'localhost'")]
    [InlineData(new[] { "--pod-wait-seconds", "soon" }, "option 'podWaitSeconds' is 'soon'")]
    [InlineData(new[] { "--manifests", "/m", "--kubeconfig", "/k" }, "'kubeconfig' and 'manifests' exclude each other")]
    [InlineData(new[] { "--kubeconfig", "/nonexistent/kubeconfig" }, "option 'kubeconfig': file '/nonexistent/kubeconfig' does not exist")]
    [InlineData(new[] { "--config", "/nonexistent/agent.json" }, "option 'config': file '/nonexistent/agent.json' does not exist")]
    public void BadOption_IsRefusedNamingIt(string[] args, string expected)
    {
        var error = Assert.Throws<AgentOptionsException>(() => Build(args));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void ConfigFile_SuppliesSettings_AndTheCommandLineWins()
    {
        var config = Path.Combine(_paths.Root, "agent.json");
        var socket = Path.Combine(_paths.Root, "from-file.sock");
        File.WriteAllText(config, $$"""{"socket": "{{socket}}", "nodeName": "from-file", "bridge": "br-file"}""");

        using var app = AgentHost.Build(["--config", config, "--manifests", _paths.Manifests, "--database", _paths.Database, "--datapath", "none", "--node-name", "from-args"]);
        var options = (AgentOptions)app.Services.GetService(typeof(AgentOptions))!;

        Assert.Equal(socket, options.Socket);
        Assert.Equal("from-args", options.NodeName);
        Assert.Equal("br-file", options.Bridge);
        Assert.Equal(9402, options.MetricsAddress.Port);
    }

    private void Build(string[] args)
    {
        using var app = AgentHost.Build(args.Contains("--datapath") ? args : [.. args, "--datapath=none"]);
        _ = (AgentOptions)app.Services.GetService(typeof(AgentOptions))!;
    }
}
