using System.CommandLine;
using System.Text.Json.Nodes;
using Patronus.Cli.Lab.Running;
using Patronus.Cli.Lab.State;
using Patronus.Cli.Lab.Wan;
using Patronus.Cli.Policy;
using Spectre.Console;

namespace Patronus.Cli.Lab.Commands;

/// <summary><c>patronus lab status [--name NAME] [-o table|json]</c>: what a lab is made of, for people and for scripts.</summary>
internal static class LabStatusCommand
{
    public static Command Create()
    {
        var name = LabOptions.Name();
        var output = new Option<string>("--output", "-o")
        {
            Description = "table (default) or json: {\"name\",\"clusters\":[{\"id\",\"nodes\":[...],\"pods\":[...]}],\"internet\":{\"netns\",\"address\"},\"wan\":[...]} (see the README).",
            DefaultValueFactory = _ => "table",
        };
        output.AcceptOnlyFromAmong("table", "json");
        var command = new Command("status",
            "Show a lab: each cluster's nodes (network namespace, address, pod ranges, agent metrics and socket, datapath) and pods (node, " +
            "network namespace, addresses), and the internet host. Every namespace shown works with `ip netns exec`.\n" + LabOptions.ExitCodes);
        command.Options.Add(name);
        command.Options.Add(output);
        command.SetAction((parse, cancellation) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            return LabOptions.RunAsync(stderr, store =>
            {
                var record = LabAccess.Load(store, LabOptions.NameOrDefault(parse.GetValue(name)));
                if (record.Phase != LabRecord.Up)
                    stderr.WriteLine($"lab {record.Name}: {record.Phase}, not up (`patronus lab down --name {record.Name}` removes it)");
                if (parse.GetValue(output) == "json")
                    stdout.WriteLine(Json(record).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
                else
                    Table(record, PolicyCommand.Console(stdout));
                return Task.FromResult(record.Phase == LabRecord.Up ? LabOptions.Success : LabOptions.Failed);
            });
        });
        return command;
    }

    /// <summary>The lab status document: the shape later checks and the demo depend on (issue 8); extend it, never break it.</summary>
    public static JsonObject Json(LabRecord record)
    {
        var json = Document(record);
        // "dns" only where clusterset.local is served: a single-cluster document keeps exactly its keys.
        foreach (var cluster in json["clusters"]!.AsArray())
        {
            if (cluster!["dns"] is null)
                cluster.AsObject().Remove("dns");
        }
        return json;
    }

    private static JsonObject Document(LabRecord record) => new()
    {
        ["name"] = record.Name,
        ["clusters"] = new JsonArray(record.Plan.Clusters.Select(cluster => (JsonNode)new JsonObject
        {
            ["id"] = cluster.Id,
            ["podCIDR"] = cluster.PodCIDR.ToString(),
            ["podCIDRv6"] = cluster.PodCIDRv6.ToString(),
            ["serviceCIDR"] = cluster.ServiceCIDR.ToString(),
            ["gateways"] = new JsonArray(cluster.Nodes.Where(n => n.Gateway).Select(n => (JsonNode)n.Name).ToArray()),
            // clusterset.local is served where the mesh runs (a lab of several clusters joined by WAN links).
            ["dns"] = record.Plan.WanLinks.Count > 0 ? Mesh.MeshArguments.DnsAddress(cluster).ToString() : null,
            ["nodes"] = new JsonArray(cluster.Nodes.Select(node => (JsonNode)new JsonObject
            {
                ["name"] = node.Name,
                ["cluster"] = node.Cluster,
                ["gateway"] = node.Gateway,
                ["wan"] = new JsonArray(record.Plan.LinksOf(node).Select(l => (JsonNode)new JsonObject
                {
                    ["link"] = l.Link.Id,
                    ["interface"] = l.Leg.Interface,
                    ["address"] = l.Leg.Address.ToString(),
                }).ToArray()),
                ["netns"] = node.Netns,
                ["address"] = node.Address.ToString(),
                ["podCIDRs"] = new JsonArray(node.PodCIDRs.Select(r => (JsonNode)r.ToString()).ToArray()),
                ["metrics"] = node.Metrics,
                ["socket"] = node.Paths.Socket,
                ["datapath"] = node.Datapath,
            }).ToArray()),
            ["pods"] = new JsonArray(Pods(record, cluster.Id).Select(pod => (JsonNode)new JsonObject
            {
                ["namespace"] = pod.Namespace,
                ["name"] = pod.Name,
                ["node"] = pod.Node,
                ["netns"] = pod.Netns,
                ["ips"] = new JsonArray(pod.Ips.Select(ip => (JsonNode)ip).ToArray()),
                ["cluster"] = pod.Cluster,
            }).ToArray()),
        }).ToArray()),
        ["internet"] = new JsonObject
        {
            ["netns"] = record.Plan.Internet.Netns,
            ["address"] = record.Plan.Internet.Address.ToString(),
        },
        ["wan"] = new JsonArray(record.Plan.WanLinks.Select(link =>
        {
            var settings = WanFabric.Current(link);
            return (JsonNode)new JsonObject
            {
                ["id"] = link.Id,
                ["between"] = new JsonArray(link.Between.Select(c => (JsonNode)c).ToArray()),
                ["delay"] = settings.Delay,
                ["jitter"] = settings.Jitter,
                ["loss"] = settings.Loss,
                ["rate"] = settings.Rate,
                ["up"] = settings.Up,
                ["netns"] = link.Netns,
                ["subnet"] = link.Subnet.ToString(),
                ["gateways"] = new JsonArray(link.Gateways.Select(g => (JsonNode)new JsonObject
                {
                    ["cluster"] = g.Cluster,
                    ["node"] = g.Node,
                    ["address"] = g.Address.ToString(),
                }).ToArray()),
            };
        }).ToArray()),
    };

    private static IEnumerable<PodRecord> Pods(LabRecord record, string cluster) =>
        record.Pods.Where(p => p.Cluster == cluster).OrderBy(p => p.Namespace, StringComparer.Ordinal).ThenBy(p => p.Name, StringComparer.Ordinal);

    private static void Table(LabRecord record, IAnsiConsole console)
    {
        console.MarkupLine($"lab [bold]{Markup.Escape(record.Name)}[/] ({Markup.Escape(record.Phase)}), internet {record.Plan.Internet.Address} in {Markup.Escape(record.Plan.Internet.Netns)}");
        var nodes = new Table().AddColumns("cluster", "node", "netns", "address", "pod CIDRs", "datapath", "metrics");
        foreach (var node in record.Plan.Nodes)
            nodes.AddRow(Markup.Escape(node.Cluster), Markup.Escape(node.Name), Markup.Escape(node.Netns), node.Address.ToString(),
                string.Join(", ", node.PodCIDRs), node.Datapath, Markup.Escape(node.Metrics));
        console.Write(nodes);
        var pods = new Table().AddColumns("cluster", "pod", "node", "netns", "IPs");
        foreach (var cluster in record.Plan.Clusters)
            foreach (var pod in Pods(record, cluster.Id))
                pods.AddRow(Markup.Escape(pod.Cluster), Markup.Escape(pod.Id), Markup.Escape(pod.Node), Markup.Escape(pod.Netns), string.Join(", ", pod.Ips));
        console.Write(pods);
        if (record.Plan.WanLinks.Count == 0)
            return;
        var links = new Table().AddColumns("wan link", "between", "now", "gateways");
        foreach (var link in record.Plan.WanLinks)
            links.AddRow(Markup.Escape(link.Id), Markup.Escape(string.Join(" - ", link.Between)), Markup.Escape(LabWanCommand.Describe(link.Id, WanFabric.Current(link))),
                Markup.Escape(string.Join(", ", link.Gateways.Select(g => $"{g.Cluster}/{g.Node} {g.Address}"))));
        console.Write(links);
    }
}
