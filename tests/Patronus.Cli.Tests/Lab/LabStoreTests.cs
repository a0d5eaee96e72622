using Patronus.Cli.Lab;
using Patronus.Cli.Lab.Config;
using Patronus.Cli.Lab.Plan;
using Patronus.Cli.Lab.Processes;
using Patronus.Cli.Lab.State;

namespace Patronus.Cli.Tests.Lab;

public sealed class LabStoreTests : IDisposable
{
    private readonly LabStore _store = new(Directory.CreateTempSubdirectory("patronus-labstore-").FullName);

    private LabRecord Record(string name) => new()
    {
        Name = name,
        Plan = LabPlan.Create(
            LabConfigReader.Read("clusters:\n- {id: a, nodes: [{name: n1, subnet: s1}, {name: n2, subnet: s2, gateway: true}]}\n- {id: b, podCIDR: 10.245.0.0/16, serviceCIDR: 10.97.0.0/16, nodes: [{name: n1}]}", "LAB.yaml", "/labs", checkFiles: false),
            name, _store.DirectoryOf(name)),
        Namespaces = [$"{name}.fabric", $"{name}.a.n1"],
        Processes = [new ProcessRecord("agent", "a", "n1", 4242, 123456, "/x/agent.pid", "/x/agent.log")],
        Pods = [new PodRecord("a", "shop", "web", "n1", $"{name}.a.shop.web", $"{name}.a.shop.web", ["10.244.0.2", "fd00:af4::2"])],
    };

    [Fact]
    public void ARecord_ReadsBackAsWritten_PlanIncluded()
    {
        var written = Record("lab1");
        _store.Save(written);

        var read = _store.Load("lab1")!;

        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(written, LabRecord.Json), System.Text.Json.JsonSerializer.Serialize(read, LabRecord.Json));
        Assert.Equal(written.Plan.Clusters[0].Nodes[1].Address, read.Plan.Clusters[0].Nodes[1].Address);
        Assert.Equal(written.Plan.Clusters[1].Nodes[0].PodCIDRs, read.Plan.Clusters[1].Nodes[0].PodCIDRs);
        Assert.True(read.Plan.Clusters[0].Nodes[1].Gateway);
        Assert.Equal(written.Pods[0], read.Pods[0] with { Ips = written.Pods[0].Ips });
        Assert.Equal(["10.244.0.2", "fd00:af4::2"], read.Pods[0].Ips);
    }

    [Fact]
    public void List_NamesTheLabsWithARecord_Only()
    {
        _store.Save(Record("b-lab"));
        _store.Save(Record("a-lab"));
        Directory.CreateDirectory(_store.DirectoryOf("no-record"));

        Assert.Equal(["a-lab", "b-lab"], _store.List());
    }

    [Fact]
    public void AnUnreadableRecord_IsReported_WithTheWayOut()
    {
        Directory.CreateDirectory(_store.DirectoryOf("broken"));
        File.WriteAllText(Path.Combine(_store.DirectoryOf("broken"), "state.json"), "{ half");

        Assert.Contains("lab down --name broken", Assert.Throws<LabException>(() => _store.Load("broken")).Message);
    }

    [Fact]
    public void TheLock_IsExclusive_UntilReleased()
    {
        using (_store.Lock("lab1", TimeSpan.Zero))
            Assert.Contains("is busy", Assert.Throws<LabException>(() => _store.Lock("lab1", TimeSpan.FromMilliseconds(200))).Message);

        _store.Lock("lab1", TimeSpan.Zero).Dispose();
    }

    public void Dispose() => Directory.Delete(_store.Root, recursive: true);
}
