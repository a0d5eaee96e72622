using k8s;
using k8s.Models;
using Patronus.Cli.Tests.Support;

namespace Patronus.Cli.Tests.Image;

/// <summary>
/// The objects of deploy/ (and deploy/uninstall/) as kubectl would apply them, and a DaemonSet's containers turned into
/// `podman run` arguments the way kubelet runs them on one node: in the node's network namespace (hostNetwork), with
/// the container's security context, command and environment (field and ConfigMap references resolved), each hostPath
/// volume mapped to the node's own directory under <see cref="NodeRoot"/>, and each ConfigMap volume as a folder of its
/// keys. The one stand-in: the cluster state comes from the lab's manifests folder instead of an API server.
/// </summary>
internal sealed class DeployedPod
{
    public static List<object> Load(string folder) =>
        Directory.GetFiles(Repository.Path(folder), "*.yaml").Order()
            .SelectMany(file => KubernetesYaml.LoadAllFromFileAsync(file, strict: true).GetAwaiter().GetResult())
            .ToList();

    public static V1DaemonSet DaemonSet(string folder, string name) =>
        Load(folder).OfType<V1DaemonSet>().Single(d => d.Metadata.Name == name);

    public static V1ConfigMap ConfigMap(string name) =>
        Load("deploy").OfType<V1ConfigMap>().Single(c => c.Metadata.Name == name);

    /// <summary>Where the agent finds the cluster state in place of the API server.</summary>
    public const string ManifestsMount = "/var/lib/patronus-cluster-state";

    public required string NodeName { get; init; }
    public required string NodeNetns { get; init; }
    /// <summary>The node's "/": hostPath /X of the DaemonSet is NodeRoot/X.</summary>
    public required string NodeRoot { get; init; }
    public required string ManifestsDirectory { get; init; }
    public required string Image { get; init; }

    /// <summary>The objects kubectl applied: deploy/ as written, or what `patronus install --dry-run` printed.</summary>
    public IReadOnlyList<object> Objects { get; init; } = Load("deploy");

    /// <summary>Stand-ins for what a real cluster would give the pod some other way (named where they are set).</summary>
    public IReadOnlyDictionary<string, string> StandIns { get; init; } = new Dictionary<string, string>();

    private V1ConfigMap Config(string name) => Objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == name);

    public string HostPath(string path) => NodeRoot + path;

    /// <summary>`podman run` arguments for one container of the pod (without `podman run` itself).</summary>
    public List<string> RunArguments(V1PodSpec pod, V1Container container, string name, bool detached)
    {
        Assert.True(pod.HostNetwork, "the DaemonSet runs in the node's network namespace");
        List<string> arguments = [detached ? "-d" : "--rm", "--name", name, "--network", $"ns:/var/run/netns/{NodeNetns}", "--pull", "never"];
        var security = container.SecurityContext;
        if (security?.Privileged == true)
            arguments.Add("--privileged");
        foreach (var drop in security?.Capabilities?.Drop ?? [])
            arguments.AddRange(["--cap-drop", drop]);
        foreach (var add in security?.Capabilities?.Add ?? [])
            arguments.AddRange(["--cap-add", add]);
        if (security?.RunAsUser is { } user)
            arguments.AddRange(["--user", user.ToString()]);
        if (security?.ReadOnlyRootFilesystem == true)
            // kubelet mounts no tmpfs of its own on a read-only root: neither may podman.
            arguments.AddRange(["--read-only", "--read-only-tmpfs=false"]);
        foreach (var variable in container.Env ?? [])
        {
            // As kubelet does: an optional ConfigMap key that is not there sets no variable at all.
            if (Resolve(variable) is { } value)
                arguments.AddRange(["-e", $"{variable.Name}={value}"]);
        }
        var volumes = pod.Volumes.ToDictionary(v => v.Name);
        foreach (var mount in container.VolumeMounts ?? [])
        {
            var volume = volumes[mount.Name];
            string source;
            if (volume.HostPath is { Type: "CharDevice" } device)
            {
                // Device nodes are the machine's: every node namespace of the lab shares its /dev.
                source = device.Path;
                Assert.True(File.Exists(source), $"volume {mount.Name}: the node has no {source}");
            }
            else if (volume.HostPath is { } hostPath)
            {
                source = HostPath(hostPath.Path);
                Assert.True(hostPath.Type is "DirectoryOrCreate" or "Directory", $"volume {mount.Name}: only directories are mapped");
                Directory.CreateDirectory(source);
            }
            else if (volume.ConfigMap is { } configMap)
            {
                source = Path.Combine(NodeRoot, "configmaps", configMap.Name);
                Directory.CreateDirectory(source);
                foreach (var (key, value) in Config(configMap.Name).Data)
                    File.WriteAllText(Path.Combine(source, key), value);
            }
            else
            {
                throw new InvalidOperationException($"volume {mount.Name}: neither hostPath nor configMap");
            }
            var options = new List<string> { mount.ReadOnlyProperty == true || volume.ConfigMap is not null ? "ro" : "rw" };
            if (mount.MountPropagation == "Bidirectional")
                options.Add("rshared");
            else if (mount.MountPropagation == "HostToContainer")
                options.Add("rslave");
            arguments.AddRange(["-v", $"{source}:{mount.MountPath}:{string.Join(',', options)}"]);
        }
        // The stand-in for the API server and the ServiceAccount's token: the lab's cluster state, read-only.
        // Only where kubelet would mount the ServiceAccount's token.
        if (pod.AutomountServiceAccountToken != false)
            arguments.AddRange(["-v", $"{ManifestsDirectory}:{ManifestsMount}:ro", "-e", $"PATRONUS_AGENT_MANIFESTS={ManifestsMount}"]);
        foreach (var (variable, value) in StandIns)
            arguments.AddRange(["-e", $"{variable}={value}"]);
        arguments.Add(Image);
        arguments.AddRange(container.Command ?? []);
        arguments.AddRange(container.Args ?? []);
        return arguments;
    }

    private string? Resolve(V1EnvVar variable)
    {
        if (variable.Value is not null)
            return variable.Value;
        if (variable.ValueFrom?.FieldRef?.FieldPath == "spec.nodeName")
            return NodeName;
        if (variable.ValueFrom?.ConfigMapKeyRef is { } reference)
        {
            var data = Config(reference.Name).Data;
            if (data.TryGetValue(reference.Key, out var value))
                return value;
            return reference.Optional == true
                ? null
                : throw new InvalidOperationException($"env {variable.Name}: ConfigMap {reference.Name} has no key {reference.Key} and the reference is not optional (kubelet would not start the container)");
        }
        throw new InvalidOperationException($"env {variable.Name}: a source kubelet would resolve that this test does not know");
    }
}
