using System.Text.Json.Nodes;

namespace Patronus.Cli.Tests.Lab.Persistent;

/// <summary>
/// One lab shared by the tests that only look at it or change it and put it back: three nodes of cluster-a, node-1
/// and node-2 on subnet s1 and node-3 on s2, with pods on each (addresses from IPAM, one pod with its own address).
/// </summary>
public sealed class RunningLabFixture : IAsyncLifetime
{
    private readonly string _files = Directory.CreateTempSubdirectory("patronus-labtest-").FullName;

    internal LabCli Cli { get; } = new();

    public string Name { get; } = LabCli.NewName();

    public string LabFile => Path.Combine(_files, "lab.yaml");

    public string ManifestsDirectory => Path.Combine(Cli.LabDirectory(Name), "cluster-a", "manifests");

    /// <summary>`lab status -o json` right after `lab up`.</summary>
    public JsonNode Status { get; private set; } = null!;

    public string UpOutput { get; private set; } = "";

    public JsonNode Pod(string name) =>
        Status["clusters"]![0]!["pods"]!.AsArray().Single(p => (string?)p!["name"] == name)!;

    public JsonNode Node(string name) =>
        Status["clusters"]![0]!["nodes"]!.AsArray().Single(n => (string?)n!["name"] == name)!;

    public Task InitializeAsync()
    {
        File.WriteAllText(LabFile, """
            clusters:
            - id: cluster-a
              podCIDR: 10.244.0.0/16
              serviceCIDR: 10.96.0.0/16
              nodes:
              - {name: node-1, subnet: s1}
              - {name: node-2, subnet: s1}
              - {name: node-3, subnet: s2, podCIDRs: [10.244.9.0/24]}
              manifests: [apps.yaml]
            """);
        File.WriteAllText(Path.Combine(_files, "apps.yaml"), """
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: Namespace, metadata: {name: shop}}
            - apiVersion: v1
              kind: Pod
              metadata: {name: web, namespace: shop, labels: {app: web}}
              spec: {nodeName: node-1, containers: [{name: web, image: busybox, ports: [{containerPort: 80}]}]}
            - apiVersion: v1
              kind: Pod
              metadata: {name: client, namespace: shop, labels: {app: client}}
              spec: {nodeName: node-2, containers: [{name: client, image: busybox}]}
            - apiVersion: v1
              kind: Pod
              metadata: {name: remote, namespace: shop, labels: {app: remote}}
              spec: {nodeName: node-3, containers: [{name: remote, image: busybox}]}
            - apiVersion: v1
              kind: Pod
              metadata: {name: pinned, namespace: shop, labels: {app: pinned}}
              spec: {nodeName: node-1, containers: [{name: pinned, image: busybox}]}
              status: {podIP: 10.244.0.50}
            """);
        UpOutput = Cli.Must("up", "-f", LabFile, "--name", Name);
        Status = Cli.Status(Name);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Cli.Dispose();
        Directory.Delete(_files, recursive: true);
        return Task.CompletedTask;
    }
}
