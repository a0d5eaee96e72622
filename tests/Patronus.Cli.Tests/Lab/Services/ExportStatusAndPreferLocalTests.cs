using System.Net;
using System.Text.Json.Nodes;
using Patronus.Cli.Tests.Lab.Persistent;
using Xunit.Abstractions;
using static Patronus.Cli.Tests.Lab.Services.ServicesLabFixture;

namespace Patronus.Cli.Tests.Lab.Services;

/// <summary>
/// In the 3-cluster services lab: each ServiceExport's conditions as its cluster state holds them (written by the
/// cluster's import writer), and aws's preference for its own endpoints.
/// </summary>
[Collection(ServicesLabCollection.Name)]
public sealed class ExportStatusAndPreferLocalTests(ServicesLabFixture lab, ITestOutputHelper output)
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    private string ExportFile(string cluster, string name) => Path.Combine(lab.Manifests(cluster), $"serviceexport.shop.{name}.json");

    private JsonArray? Conditions(string cluster, string name)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(ExportFile(cluster, name)))?["status"]?["conditions"]?.AsArray();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string Describe(JsonArray conditions) =>
        string.Join(", ", conditions.Select(c => $"{c!["type"]}={c["status"]}/{c["reason"]}@{c["lastTransitionTime"]}"));

    private static JsonNode Condition(JsonArray conditions, string type) => conditions.Single(c => (string?)c!["type"] == type)!;

    [Fact]
    public void ExportConditions_AreInTheServiceExportsStatus_AndStayPutWhileNothingChanges()
    {
        Assert.NotNull(Until(() => Conditions(Aws, "web") is { } c && (string?)Condition(c, "Ready")["status"] == "True", Settle));
        var web = Conditions(Aws, "web")!;
        output.WriteLine($"aws shop/web: {Describe(web)}");
        Assert.Equal(["Valid", "Ready", "Conflict"], web.Select(c => (string)c!["type"]!));
        Assert.Equal(["True", "True", "False"], web.Select(c => (string)c!["status"]!));
        Assert.Equal(["Valid", "Exported", "NoConflicts"], web.Select(c => (string)c!["reason"]!));
        Assert.All(web, c => Assert.True(DateTime.TryParse((string?)c!["lastTransitionTime"], out _)));

        // ExternalName: Valid=False with the KEP's reason, in gcp's own cluster state.
        Assert.NotNull(Until(() => Conditions(Gcp, "ext") is not null, Settle));
        var ext = Conditions(Gcp, "ext")!;
        output.WriteLine($"gcp shop/ext: {Describe(ext)}");
        Assert.Equal("False", (string?)Condition(ext, "Valid")["status"]);
        Assert.Equal("InvalidServiceType", (string?)Condition(ext, "Valid")["reason"]);

        // No write while nothing changes, and a `lab apply` of the same export keeps its status (as the API server's
        // status subresource does): the file's conditions, times included, stay as they were.
        var written = File.GetLastWriteTimeUtc(ExportFile(Aws, "web"));
        Thread.Sleep(3000);
        Assert.Equal(written, File.GetLastWriteTimeUtc(ExportFile(Aws, "web")));
        var manifest = Path.Combine(lab.Files, "web-export.yaml");
        File.WriteAllText(manifest, "apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceExport\nmetadata: {name: web, namespace: shop}\n");
        lab.Cli.Must("apply", "-f", manifest, "--name", lab.Name, "--cluster", Aws);
        Thread.Sleep(2000);
        Assert.Equal(Describe(web), Describe(Conditions(Aws, "web")!));
    }

    [Fact]
    public async Task PreferLocal_AnExportingClustersPodReachesItsOwnEndpoints_AndTheOthersWhenItsOwnGo()
    {
        Assert.NotNull(Until(() => lab.Import("cart", Aws) is { } i && i["clusters"]!.AsArray().Count == 2
            && i["clusters"]!.AsArray().All(c => c!["endpoints"]!.AsArray().Count == 1), Settle));
        var vip = lab.Vip("cart", Aws);
        var client = lab.PodNetns(Aws, "db-web-aws");

        async Task<Dictionary<string, int>> Connect(int count)
        {
            var reached = new Dictionary<string, int>();
            for (var i = 0; i < count; i++)
            {
                var name = await NameServer.AskAsync(client, new IPEndPoint(vip, 80), TimeSpan.FromSeconds(5)) ?? "(none)";
                reached[name] = reached.GetValueOrDefault(name) + 1;
            }
            output.WriteLine($"{count} connections from aws to {vip}:80: {string.Join(", ", reached.OrderBy(r => r.Key).Select(r => $"{r.Key} {r.Value}"))}");
            return reached;
        }

        Assert.Equal(30, (await Connect(30)).GetValueOrDefault("web-aws"));
        // From onprem (no preference, no export of its own): both clusters.
        var fromOnprem = new Dictionary<string, int>();
        for (var i = 0; i < 40; i++)
        {
            var name = await NameServer.AskAsync(lab.ClientNetns, new IPEndPoint(lab.Vip("cart"), 80), TimeSpan.FromSeconds(5)) ?? "(none)";
            fromOnprem[name] = fromOnprem.GetValueOrDefault(name) + 1;
        }
        output.WriteLine($"40 connections from onprem: {string.Join(", ", fromOnprem.OrderBy(r => r.Key).Select(r => $"{r.Key} {r.Value}"))}");
        Assert.True(fromOnprem.GetValueOrDefault("web-aws") > 0 && fromOnprem.GetValueOrDefault("web-gcp") > 0);

        // aws's cart selects no pod any more: no ready local endpoint, so aws's pods go to gcp's.
        var service = Path.Combine(lab.Files, "cart-service.yaml");
        File.WriteAllText(service, "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec: {selector: {app: nothing}, ports: [{name: http, port: 80, targetPort: 8080}]}\n");
        var restore = Path.Combine(lab.Files, "cart-service-restore.yaml");
        File.WriteAllText(restore, "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}\n");
        try
        {
            lab.Cli.Must("apply", "-f", service, "--name", lab.Name, "--cluster", Aws);
            Assert.NotNull(Until(() => lab.Import("cart", Aws) is { } i && i["clusters"]!.AsArray().Single(c => (string?)c!["cluster"] == Aws)["endpoints"]!.AsArray().Count == 0, Settle));
            Assert.Equal(30, (await Connect(30)).GetValueOrDefault("web-gcp"));
        }
        finally
        {
            lab.Cli.Must("apply", "-f", restore, "--name", lab.Name, "--cluster", Aws);
        }
        Assert.NotNull(Until(() => lab.Import("cart", Aws) is { } i && i["clusters"]!.AsArray().Single(c => (string?)c!["cluster"] == Aws)["endpoints"]!.AsArray().Count == 1, Settle));
        Assert.Equal(30, (await Connect(30)).GetValueOrDefault("web-aws"));
    }
}
