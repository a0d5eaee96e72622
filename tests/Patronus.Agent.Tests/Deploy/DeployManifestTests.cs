using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Patronus.Agent.Hosting;
using Patronus.Agent.Routes;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Deploy;

/// <summary>The objects in deploy/ load as valid Kubernetes objects and say what they must.</summary>
public sealed class DeployManifestTests
{
    private static readonly string DeployDirectory = Checkout.PathOf("deploy");

    private static async Task<List<object>> LoadAll()
    {
        var objects = new List<object>();
        foreach (var file in Directory.GetFiles(DeployDirectory, "*.yaml").Order())
            objects.AddRange(await KubernetesYaml.LoadAllFromFileAsync(file, strict: true));
        return objects;
    }

    private static async Task<T> Single<T>(string name)
    {
        var objects = (await LoadAll()).OfType<T>().Where(o => ((IMetadata<V1ObjectMeta>)o!).Metadata.Name == name).ToList();
        return Assert.Single(objects);
    }

    [Fact]
    public async Task Deploy_HoldsExactlyTheAgentsObjects()
    {
        var kinds = (await LoadAll()).Select(o => $"{((IKubernetesObject)o).Kind}/{((IMetadata<V1ObjectMeta>)o).Metadata.Name}").Order().ToArray();

        Assert.Equal(
            [
                "ClusterRole/patronus-agent", "ClusterRoleBinding/patronus-agent", "ConfigMap/patronus-cni-config", "ConfigMap/patronus-config",
                "DaemonSet/patronus-agent", "DaemonSet/patronus-wireguard", "Role/patronus-agent", "RoleBinding/patronus-agent", "ServiceAccount/patronus-agent",
            ],
            kinds);
    }

    [Fact]
    public async Task ClusterRoleBinding_GivesTheRoleToTheAgentsServiceAccount()
    {
        var binding = await Single<V1ClusterRoleBinding>("patronus-agent");
        var account = await Single<V1ServiceAccount>("patronus-agent");

        Assert.Equal(("ClusterRole", "patronus-agent"), (binding.RoleRef.Kind, binding.RoleRef.Name));
        var subject = Assert.Single(binding.Subjects);
        Assert.Equal(("ServiceAccount", account.Metadata.Name, account.Metadata.NamespaceProperty), (subject.Kind, subject.Name, subject.NamespaceProperty));
    }

    [Fact]
    public async Task DaemonSet_InstallsThePluginAndRunsTheAgentWithItsServiceAccount()
    {
        var daemonSet = await Single<V1DaemonSet>("patronus-agent");
        var pod = daemonSet.Spec.Template.Spec;

        Assert.Equal("patronus-agent", pod.ServiceAccountName);
        Assert.True(pod.HostNetwork);
        Assert.Equal(daemonSet.Spec.Selector.MatchLabels, daemonSet.Spec.Template.Metadata.Labels.Where(l => daemonSet.Spec.Selector.MatchLabels.ContainsKey(l.Key)).ToDictionary());
        var install = Assert.Single(pod.InitContainers);
        // The image has no shell: the agent's --install-cni copies its plugin there atomically (temporary file and rename).
        Assert.Equal(["patronus-agent", "--install-cni", "/host/opt/cni/bin"], install.Command);
        Assert.Contains(install.VolumeMounts, m => m.Name == "cni-bin" && m.MountPath == "/host/opt/cni/bin" && m.ReadOnlyProperty != true);
        var script = string.Join("\n", install.Command);
        // The conflist is the agent's to write, with the node's own ranges, once it is ready: a copy made at install
        // time would let kubelet start pods before the network works, with ranges every node shares.
        Assert.DoesNotContain("conflist", script);
        var agent = Assert.Single(pod.Containers);
        Assert.Contains(agent.VolumeMounts, m => m.Name == "cni-conf" && m.MountPath == "/host/etc/cni/net.d" && m.ReadOnlyProperty != true);
        var config = await Single<V1ConfigMap>("patronus-config");
        var fromConfig = agent.Env.Where(e => e.ValueFrom?.ConfigMapKeyRef?.Name == "patronus-config").ToDictionary(e => e.Name, e => e.ValueFrom.ConfigMapKeyRef.Key);
        Assert.Equal("cluster-cidr", fromConfig["PATRONUS_AGENT_CLUSTERCIDR"]);
        Assert.Equal("service-cidr", fromConfig["PATRONUS_AGENT_SERVICECIDR"]);
        Assert.Equal("cluster-id", fromConfig["PATRONUS_AGENT_CLUSTERID"]);
        Assert.Equal("cluster-set-key", fromConfig["PATRONUS_AGENT_CLUSTERSETKEY"]);
        Assert.Equal("remote-clusters", fromConfig["PATRONUS_AGENT_REMOTECLUSTERS"]);
        Assert.Equal("clusterset-ip-range", fromConfig["PATRONUS_AGENT_CLUSTERSETIPRANGE"]);
        Assert.Equal("clusterset-dns", fromConfig["PATRONUS_AGENT_CLUSTERSETDNS"]);
        Assert.Equal("clusterset-prefer-local", fromConfig["PATRONUS_AGENT_CLUSTERSETPREFERLOCAL"]);
        // Keys a cluster without a mesh leaves out are optional; the others must be in the ConfigMap as shipped.
        Assert.All(agent.Env.Where(e => e.ValueFrom?.ConfigMapKeyRef is { Name: "patronus-config", Optional: not true }),
            e => Assert.Contains(e.ValueFrom.ConfigMapKeyRef.Key, config.Data.Keys));
        Assert.Equal(["patronus-agent", "--config", "/etc/patronus/agent.json"], agent.Command);
        Assert.Equal("/healthz", agent.LivenessProbe.HttpGet.Path);
        Assert.Equal("/readyz", agent.ReadinessProbe.HttpGet.Path);
        // Privileged: bridge netfilter sysctls under /proc/sys, bpffs and /dev/net/tun are out of reach otherwise.
        Assert.True(agent.SecurityContext.Privileged);
        Assert.True(agent.SecurityContext.ReadOnlyRootFilesystem);
        var volumes = pod.Volumes.ToDictionary(v => v.Name);
        Assert.Equal("patronus-cni-config", volumes["config"].ConfigMap.Name);
        Assert.Equal("/var/run/patronus", volumes["run"].HostPath.Path);
        Assert.Equal("/var/lib/patronus", volumes["state"].HostPath.Path);
        Assert.All(pod.Containers.Concat(pod.InitContainers).SelectMany(c => c.VolumeMounts), mount => Assert.Contains(mount.Name, volumes.Keys));
    }

    [Fact]
    public async Task WireGuardDaemonSet_RunsWireGuardGoOnGatewaysOnly_WhereTheAgentFindsItsSocket()
    {
        var wireguard = (await Single<V1DaemonSet>("patronus-wireguard")).Spec.Template.Spec;
        var agent = (await Single<V1DaemonSet>("patronus-agent")).Spec.Template.Spec;

        // The agent's mesh gateway runs on Nodes with this label, and only there is a device to serve.
        Assert.Equal(new Dictionary<string, string> { ["patronus.io/gateway"] = "true" }, wireguard.NodeSelector);
        Assert.True(wireguard.HostNetwork);
        Assert.False(wireguard.AutomountServiceAccountToken);
        var container = Assert.Single(wireguard.Containers);
        // In the foreground: wireguard-go is the container's process, so it lives exactly as long as the container.
        Assert.Equal(["wireguard-go", "--foreground", "wg-sdwan"], container.Command);
        Assert.Equal(["NET_ADMIN"], container.SecurityContext.Capabilities.Add);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.NotEqual(true, container.SecurityContext.Privileged);
        // The device's name is the agent's (its default), and the UAPI socket folder is the same host directory.
        Assert.Equal(container.Command[^1], new Patronus.Agent.Mesh.MeshOptions().Interface);
        string HostPathOf(V1PodSpec pod, V1Container c, string mountPath) =>
            pod.Volumes.Single(v => v.Name == c.VolumeMounts.Single(m => m.MountPath == mountPath).Name).HostPath.Path;
        Assert.Equal("/var/run/wireguard", HostPathOf(wireguard, container, "/var/run/wireguard"));
        Assert.Equal("/var/run/wireguard", HostPathOf(agent, agent.Containers.Single(), "/var/run/wireguard"));
        Assert.Equal("/dev/net/tun", HostPathOf(wireguard, container, "/dev/net/tun"));
        // Never rolled with the agent: replacing it restarts the tunnels.
        Assert.Equal("OnDelete", (await Single<V1DaemonSet>("patronus-wireguard")).Spec.UpdateStrategy.Type);
    }

    [Fact]
    public async Task ConfigMap_ConflistParsesAndNamesThePlugin()
    {
        var config = await Single<V1ConfigMap>("patronus-cni-config");

        using var conflist = JsonDocument.Parse(config.Data["10-patronus.conflist"]);
        var root = conflist.RootElement;
        Assert.Equal("1.0.0", root.GetProperty("cniVersion").GetString());
        var plugin = Assert.Single(root.GetProperty("plugins").EnumerateArray().ToArray());
        Assert.Equal("patronus-cni", plugin.GetProperty("type").GetString());
        Assert.Equal("cni-bridge0", plugin.GetProperty("bridge").GetString());
        Assert.True(plugin.GetProperty("sdwan").GetProperty("enable_policy_enforcement").GetBoolean());
        // A template: the agent fills in each node's own ranges, so none may be fixed here.
        var ipam = plugin.GetProperty("ipam");
        Assert.False(ipam.TryGetProperty("subnet", out _));
        Assert.False(ipam.TryGetProperty("ranges", out _));
        Assert.Equal("/var/lib/patronus/k8s-sdwan.db", plugin.GetProperty("sdwan").GetProperty("database").GetString());
    }

    [Fact]
    public async Task ConfigMap_AgentSettingsAreValidAgentOptions()
    {
        var config = await Single<V1ConfigMap>("patronus-cni-config");
        // The ConfigMap's keys as the DaemonSet mounts them at /etc/patronus: the agent checks the template exists.
        var mount = Directory.CreateTempSubdirectory("patronus-deploy-").FullName;
        File.WriteAllText(Path.Combine(mount, "10-patronus.conflist"), config.Data["10-patronus.conflist"]);
        var json = config.Data["agent.json"].Replace("\"/etc/patronus/", $"\"{mount}/");
        var settings = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build();

        AgentOptions options;
        try
        {
            options = AgentOptions.From(settings);
        }
        finally
        {
            Directory.Delete(mount, recursive: true);
        }

        Assert.Equal("/var/run/patronus/agent.sock", options.Socket);
        Assert.Equal("/var/lib/patronus/k8s-sdwan.db", options.Database);
        Assert.Equal(9402, options.MetricsAddress.Port);
        Assert.Equal("nftables", options.Datapath);
        Assert.Equal("kubernetes", options.Source);
        Assert.True(options.Routes.Enabled);
        Assert.Equal(RoutingMode.Auto, options.Routes.Mode);
        Assert.True(options.Routes.Masquerade);
        Assert.Equal("/host/etc/cni/net.d/10-patronus.conflist", options.Routes.CniConfPath);
        Assert.Equal(Path.Combine(mount, "10-patronus.conflist"), options.Routes.CniConfTemplate);
        // wireguard-go runs in deploy/wireguard.yaml's container, so that it outlives the agent's.
        Assert.True(options.Mesh.ExternalWireGuardGo);
    }

    [Fact]
    public async Task ConfigMap_ConflistTemplate_RendersEachNodesOwnRanges()
    {
        var config = await Single<V1ConfigMap>("patronus-cni-config");
        var template = config.Data["10-patronus.conflist"];

        var node1 = ConflistRenderer.Render(template, [System.Net.IPNetwork.Parse("10.244.1.0/24")], mtu: 1450);
        var node2 = ConflistRenderer.Render(template, [System.Net.IPNetwork.Parse("10.244.2.0/24")], mtu: 1450);

        Assert.Contains("10.244.1.0/24", node1);
        Assert.DoesNotContain("10.244.2.0/24", node1);
        Assert.Contains("10.244.2.0/24", node2);
        Assert.Equal(1450, JsonDocument.Parse(node1).RootElement.GetProperty("plugins")[0].GetProperty("mtu").GetInt32());
    }

    [Fact]
    public async Task PatronusConfig_HasTheSeedsKeys()
    {
        var config = await Single<V1ConfigMap>("patronus-config");

        Assert.Equal(["cluster-cidr", "cluster-id", "remote-clusters", "service-cidr"], config.Data.Keys.Order().ToArray());
        Assert.True(System.Net.IPNetwork.TryParse(config.Data["cluster-cidr"], out _));
        Assert.True(System.Net.IPNetwork.TryParse(config.Data["service-cidr"], out _));
    }
}
