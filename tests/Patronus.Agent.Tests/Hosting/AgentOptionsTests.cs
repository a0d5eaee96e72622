using Microsoft.Extensions.Configuration;
using Patronus.Agent.Hosting;

namespace Patronus.Agent.Tests.Hosting;

public sealed class AgentOptionsTests : IDisposable
{
    private readonly AgentPaths _paths = new();

    public void Dispose() => _paths.Dispose();

    [Theory]
    [InlineData(new[] { "--frobnicate", "1" }, "unknown option '--frobnicate'")]
    [InlineData(new[] { "--socket" }, "option '--socket' needs a value")]
    [InlineData(new[] { "--datapath", "bpf" }, "option 'datapath' is 'bpf'; expected nftables, ebpf, auto or none")]
    [InlineData(new[] { "--metrics-address", "localhost" }, "option 'metrics-address' is 'localhost'")]
    [InlineData(new[] { "--pod-wait-seconds", "soon" }, "option 'podWaitSeconds' is 'soon'")]
    [InlineData(new[] { "--manifests", "/m", "--kubeconfig", "/k" }, "'kubeconfig' and 'manifests' exclude each other")]
    [InlineData(new[] { "--kubeconfig", "/nonexistent/kubeconfig" }, "option 'kubeconfig': file '/nonexistent/kubeconfig' does not exist")]
    [InlineData(new[] { "--config", "/nonexistent/agent.json" }, "option 'config': file '/nonexistent/agent.json' does not exist")]
    [InlineData(new[] { "--routing", "ospf" }, "option 'routing' is 'ospf'; expected auto, direct, vxlan or none")]
    [InlineData(new[] { "--routing", "1" }, "option 'routing' is '1'")]
    [InlineData(new[] { "--cluster-cidr", "10.244.0.1/16" }, "option 'clusterCidr': '10.244.0.1/16' is not a network")]
    [InlineData(new[] { "--masquerade", "maybe" }, "option 'masquerade' is 'maybe'")]
    [InlineData(new[] { "--cni-conf-template", "/nonexistent/t.conflist" }, "option 'cni-conf-template': file '/nonexistent/t.conflist' does not exist")]
    [InlineData(new[] { "--clusterset-ip-range", "10.112.0.0/16" }, "option 'clusterset-ip-range' needs the mesh (cluster-id and cluster-set-key)")]
    [InlineData(new[] { "--clusterset-ip-range", "banana" }, "'banana' is not a CIDR")]
    [InlineData(new[] { "--cluster-cidr", "10.112.0.0/16", "--clusterset-ip-range", "10.112.0.0/24" }, "option 'clusterset-ip-range': 10.112.0.0/24 overlaps the cluster set's range 10.112.0.0/16")]
    [InlineData(new[] { "--clusterset-dns", "nowhere" }, "option 'clusterset-dns' is 'nowhere'; expected ADDRESS:PORT")]
    [InlineData(new[] { "--services-port", "0" }, "option 'services-port' is '0'; expected a UDP port")]
    [InlineData(new[] { "--clusterset-prefer-local", "local" }, "option 'clusterset-prefer-local' is 'local'; expected true or false")]
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

    [Fact]
    public void Help_ListsEveryOptionWithItsDefault()
    {
        var help = AgentOptions.Help();

        foreach (var option in AgentOptions.Switches.Keys)
            Assert.Contains(option, help);
        Assert.Contains("--routing", help);
        Assert.Contains("[auto]", help);
        Assert.Contains("[/etc/cni/net.d/10-patronus.conflist]", help);
    }

    [Fact]
    public void Help_DefaultsAreTheOnesInForce()
    {
        var defaults = AgentOptions.From(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        // A key may have two spellings (--interface for sites, --mesh-interface): the first is the documented one.
        var documented = AgentOptions.Documented.DistinctBy(o => o.Key).ToDictionary(o => o.Key, o => o.Default);

        Assert.Equal(defaults.SocketMaxConnections.ToString(), documented["socketMaxConnections"]);
        Assert.Equal(defaults.PodWait.TotalSeconds.ToString(), documented["podWaitSeconds"]);
        Assert.Equal(defaults.Resync.TotalSeconds.ToString(), documented["resyncSeconds"]);
        Assert.Equal(defaults.SocketIdleTimeout.TotalSeconds.ToString(), documented["socketIdleTimeoutSeconds"]);
        Assert.Equal(defaults.SocketRequestTimeout.TotalSeconds.ToString(), documented["socketRequestTimeoutSeconds"]);
        Assert.Equal(defaults.SpoolInterval.TotalSeconds.ToString(), documented["spoolIntervalSeconds"]);
        Assert.Equal(defaults.Datapath, documented["datapath"]);
        Assert.Equal(defaults.Database, documented["database"]);
        Assert.Equal(defaults.Socket, documented["socket"]);
        Assert.Equal(defaults.MetricsAddress.ToString(), documented["metricsAddress"]);
        Assert.Equal(defaults.Routes.Mode.ToString().ToLowerInvariant(), documented["routing"]);
        Assert.Equal(defaults.Routes.CniConfPath, documented["cniConfPath"]);
        Assert.Equal(defaults.Routes.Masquerade.ToString().ToLowerInvariant(), documented["masquerade"]);
        Assert.Equal(defaults.Mesh.KeysDirectory, documented["meshKeys"]);
        Assert.Equal(defaults.Mesh.GatewayLabel, documented["gatewayLabel"]);
        Assert.Equal(defaults.Mesh.Interface, documented["meshInterface"]);
        Assert.Equal(defaults.Mesh.ListenPort.ToString(), documented["listenPort"]);
        Assert.Equal(defaults.Mesh.DiscoveryPort.ToString(), documented["meshDiscoveryPort"]);
        Assert.Equal(defaults.Mesh.MulticastGroup!.ToString(), documented["multicastGroup"]);
        Assert.Equal(defaults.Mesh.KeyRotation.TotalSeconds.ToString(), documented["keyRotationSeconds"]);
        Assert.Equal(defaults.Mesh.AnnounceInterval.TotalSeconds.ToString(), documented["announceIntervalSeconds"]);
        Assert.Equal(defaults.Services.ExchangePort.ToString(), documented["servicesPort"]);
        Assert.Equal(defaults.Mesh.ProbePort.ToString(), documented["meshProbePort"]);
        Assert.False(defaults.Services.Enabled);
        // A gateway binds every one of these on one address: two features given one default port would take each other's datagrams.
        int[] ports = [defaults.Mesh.ListenPort, defaults.Mesh.DiscoveryPort, defaults.Mesh.ProbePort, defaults.Services.ExchangePort];
        Assert.Equal(ports.Length, ports.Distinct().Count());
    }

    [Theory]
    [InlineData(new string[0], true, Patronus.Agent.Routes.RoutingMode.Auto)]
    [InlineData(new[] { "--routing", "vxlan" }, true, Patronus.Agent.Routes.RoutingMode.Vxlan)]
    [InlineData(new[] { "--routing", "none" }, false, Patronus.Agent.Routes.RoutingMode.Auto)]
    public void Routing_IsReadFromItsOption(string[] args, bool enabled, Patronus.Agent.Routes.RoutingMode mode)
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddCommandLine([.. args, "--cluster-cidr", "10.244.0.0/16, fd00:10:244::/56"], AgentOptions.Switches.ToDictionary()).Build();
        var options = AgentOptions.From(configuration);

        Assert.Equal(enabled, options.Routes.Enabled);
        Assert.Equal(mode, options.Routes.Mode);
        Assert.Equal([System.Net.IPNetwork.Parse("10.244.0.0/16"), System.Net.IPNetwork.Parse("fd00:10:244::/56")], options.Routes.ClusterCidrs);
    }
}
