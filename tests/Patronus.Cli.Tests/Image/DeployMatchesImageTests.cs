using System.Text.Json.Nodes;
using k8s.Models;
using Patronus.Cli.Tests.Support;

namespace Patronus.Cli.Tests.Image;

/// <summary>
/// deploy/ read through the KubernetesClient models against the image's own file system (podman image mount): every
/// container runs a command the image holds, from the image deploy/ names, and every path the agent's settings name
/// lies on a volume the container mounts (writable where the agent writes).
/// </summary>
[Collection(ImageCollection.Name)]
public sealed class DeployMatchesImageTests(PatronusImage image)
{
    private static IEnumerable<(string Where, V1PodSpec Pod)> Pods() =>
        DeployedPod.Load("deploy").Concat(DeployedPod.Load("deploy/uninstall")).OfType<V1DaemonSet>()
            .Select(d => (d.Metadata.Name, d.Spec.Template.Spec));

    [Fact]
    public void EveryContainer_RunsTheBuiltImage_AndACommandTheImageHolds()
    {
        var root = image.Mount();
        var containers = Pods().SelectMany(p => p.Pod.Containers.Concat(p.Pod.InitContainers ?? []).Select(c => (p.Where, c))).ToList();
        // The agent's init container and agent, wireguard-go's, and the cleanup's.
        Assert.Equal(4, containers.Count);
        foreach (var (where, container) in containers)
        {
            Assert.Equal(PatronusImage.Tag, container.Image);
            Assert.Equal("IfNotPresent", container.ImagePullPolicy);
            var command = Assert.IsAssignableFrom<IList<string>>(container.Command);
            var found = PatronusImage.Which(root, command[0]);
            Assert.True(found is not null, $"{where}/{container.Name}: {command[0]} is not in the image");
            Assert.True(File.GetUnixFileMode(root + found).HasFlag(UnixFileMode.UserExecute), $"{where}/{container.Name}: {found} is not executable");
        }
        // The launchers' targets and what they load at run time.
        foreach (var path in new[]
                 {
                     "/opt/patronus/lib/patronus-agent/patronus-agent.dll", "/opt/patronus/lib/patronus/patronus.dll",
                     "/usr/share/dotnet/host/fxr", "/usr/lib/x86_64-linux-gnu/libnftables.so.1", "/usr/lib/x86_64-linux-gnu/libbpf.so.1",
                     "/usr/bin/wireguard-go", "/lib64/ld-linux-x86-64.so.2",
                 })
            Assert.True(PatronusImage.ResolveIn(root, path) is not null, $"{path} is not in the image");
        // The plugin the init container installs is the one ./build.sh published.
        Assert.Equal(File.ReadAllBytes(Repository.Artifact("patronus-cni")), File.ReadAllBytes(root + "/opt/patronus/bin/patronus-cni"));
        // Only what runs on linux-x64 (published for it: its native libraries beside the assemblies, no other
        // platform's under runtimes/), and no debug symbols.
        foreach (var native in new[] { "libe_sqlite3.so", "libsodium.so" })
            Assert.True(File.Exists(root + "/opt/patronus/lib/patronus-agent/" + native), $"{native} is not beside the agent");
        foreach (var app in new[] { "patronus-agent", "patronus" })
        {
            var runtimes = root + $"/opt/patronus/lib/{app}/runtimes";
            Assert.Empty(Directory.Exists(runtimes) ? Directory.GetDirectories(runtimes).Select(Path.GetFileName).Except(["linux-x64", "unix"]) : []);
        }
        Assert.Empty(Directory.GetFiles(root + "/opt/patronus", "*.pdb", SearchOption.AllDirectories));
    }

    [Fact]
    public void InitContainer_InstallsIntoAHostPathMount()
    {
        var (_, pod) = Pods().Single(p => p.Where == "patronus-agent");
        var install = Assert.Single(pod.InitContainers);
        var target = install.Command[install.Command.IndexOf("--install-cni") + 1];
        var mount = Assert.Single(install.VolumeMounts, m => m.MountPath == target);
        Assert.NotEqual(true, mount.ReadOnlyProperty);
        Assert.Equal("/opt/cni/bin", pod.Volumes.Single(v => v.Name == mount.Name).HostPath.Path);
    }

    [Fact]
    public void AgentSettings_NamePathsOnTheContainersMounts()
    {
        var (_, pod) = Pods().Single(p => p.Where == "patronus-agent");
        var agent = Assert.Single(pod.Containers);
        var config = DeployedPod.ConfigMap("patronus-cni-config");
        var settings = JsonNode.Parse(config.Data["agent.json"])!.AsObject();
        V1VolumeMount MountOf(string path) =>
            agent.VolumeMounts.Where(m => path == m.MountPath || path.StartsWith(m.MountPath.TrimEnd('/') + "/", StringComparison.Ordinal))
                .OrderByDescending(m => m.MountPath.Length).FirstOrDefault()
            ?? throw new Xunit.Sdk.XunitException($"{path} is on no volume of the agent's container: it would be lost (or unwritable) with a read-only root");

        foreach (var key in new[] { "socket", "database", "spool", "cniConfPath" })
        {
            var path = (string)settings[key]!;
            var mount = MountOf(path);
            Assert.True(mount.ReadOnlyProperty != true, $"{key} ({path}) is on the read-only volume {mount.Name}");
            Assert.NotNull(pod.Volumes.Single(v => v.Name == mount.Name).HostPath);
        }
        // The conflist template is a key of the mounted ConfigMap.
        var template = (string)settings["cniConfTemplate"]!;
        var templateMount = MountOf(template);
        Assert.Equal("patronus-cni-config", pod.Volumes.Single(v => v.Name == templateMount.Name).ConfigMap.Name);
        Assert.Contains(Path.GetFileName(template), config.Data.Keys);
        // The agent reports the plugin where the init container put it.
        Assert.Equal("/opt/cni/bin", MountOf((string)settings["cniBinDir"]!).MountPath);
        // The command reads the settings from that ConfigMap.
        Assert.Equal("/etc/patronus/agent.json", agent.Command[agent.Command.IndexOf("--config") + 1]);
        Assert.Equal("config", MountOf("/etc/patronus/agent.json").Name);
        // The plugin's paths in the conflist template are the same host directories the agent's are.
        var plugin = JsonNode.Parse(config.Data["10-patronus.conflist"])!["plugins"]![0]!;
        Assert.Equal((string)settings["socket"]!, (string)plugin["sdwan"]!["agent_socket"]!);
        Assert.Equal((string)settings["database"]!, (string)plugin["sdwan"]!["database"]!);
        Assert.Equal((string)settings["spool"]!, (string)plugin["sdwan"]!["agent_spool_dir"]!);
        Assert.Equal("state", MountOf((string)plugin["ipam"]!["dataDir"]!).Name);
    }
}
