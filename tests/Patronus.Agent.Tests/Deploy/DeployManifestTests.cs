using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Patronus.Agent.Hosting;
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
            ["ClusterRole/patronus-agent", "ClusterRoleBinding/patronus-agent", "ConfigMap/patronus-cni-config", "ConfigMap/patronus-config", "DaemonSet/patronus-agent", "ServiceAccount/patronus-agent"],
            kinds);
    }

    [Fact]
    public async Task ClusterRole_OnlyReadsWhatTheAgentWatches()
    {
        var role = await Single<V1ClusterRole>("patronus-agent");

        var grants = role.Rules
            .SelectMany(rule => rule.ApiGroups.SelectMany(group => rule.Resources.Select(resource => $"{group}/{resource}: {string.Join(",", rule.Verbs.Order())}")))
            .Order()
            .ToArray();
        Assert.Equal(
            [
                "/namespaces: get,list,watch", "/nodes: get,list,watch", "/pods: get,list,watch", "/services: get,list,watch",
                "discovery.k8s.io/endpointslices: get,list,watch", "networking.k8s.io/networkpolicies: get,list,watch",
            ],
            grants);
        Assert.All(role.Rules, rule => Assert.Null(rule.ResourceNames));
        Assert.All(role.Rules, rule => Assert.Null(rule.NonResourceURLs));
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
        var script = string.Join("\n", install.Command);
        Assert.Contains("/host/opt/cni/bin/patronus-cni", script);
        Assert.Contains("/host/etc/cni/net.d/10-patronus.conflist", script);
        var agent = Assert.Single(pod.Containers);
        Assert.Equal(["patronus-agent", "--config", "/etc/patronus/agent.json"], agent.Command);
        Assert.Equal("/healthz", agent.LivenessProbe.HttpGet.Path);
        Assert.Equal("/readyz", agent.ReadinessProbe.HttpGet.Path);
        Assert.Equal(["NET_ADMIN"], agent.SecurityContext.Capabilities.Add);
        var volumes = pod.Volumes.ToDictionary(v => v.Name);
        Assert.Equal("patronus-cni-config", volumes["config"].ConfigMap.Name);
        Assert.Equal("/var/run/patronus", volumes["run"].HostPath.Path);
        Assert.Equal("/var/lib/patronus", volumes["state"].HostPath.Path);
        Assert.All(pod.Containers.Concat(pod.InitContainers).SelectMany(c => c.VolumeMounts), mount => Assert.Contains(mount.Name, volumes.Keys));
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
        Assert.Equal("/var/lib/patronus/k8s-sdwan.db", plugin.GetProperty("sdwan").GetProperty("database").GetString());
    }

    [Fact]
    public async Task ConfigMap_AgentSettingsAreValidAgentOptions()
    {
        var config = await Single<V1ConfigMap>("patronus-cni-config");
        var settings = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(config.Data["agent.json"]))).Build();

        var options = AgentOptions.From(settings);

        Assert.Equal("/var/run/patronus/agent.sock", options.Socket);
        Assert.Equal("/var/lib/patronus/k8s-sdwan.db", options.Database);
        Assert.Equal(9402, options.MetricsAddress.Port);
        Assert.Equal("nftables", options.Datapath);
        Assert.Equal("kubernetes", options.Source);
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
