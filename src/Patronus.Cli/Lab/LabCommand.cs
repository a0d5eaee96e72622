using System.CommandLine;
using System.Net;
using Patronus.Cli.Lab.Commands;
using Patronus.Cli.Lab.Running;
using Patronus.Cli.Policy;
using Patronus.Cli.Reach;
using Patronus.Kubernetes.Manifests;
using Patronus.Netlink;
using Patronus.Policy.Compiled;

namespace Patronus.Cli.Lab;

/// <summary><c>patronus lab</c>: a cluster built from network namespaces on this machine, measured with real packets.</summary>
internal static class LabCommand
{
    public static Command Create()
    {
        var command = new Command("lab", "Clusters of network namespaces on this machine (root): build one and leave it running (up, status, " +
            "apply, delete, exec, reach, down), or measure manifests in a throwaway one (reach -f).");
        command.Subcommands.Add(LabUpCommand.Create());
        command.Subcommands.Add(LabStatusCommand.Create());
        command.Subcommands.Add(LabApplyCommand.Create());
        command.Subcommands.Add(LabDeleteCommand.Create());
        command.Subcommands.Add(LabExecCommand.Create());
        command.Subcommands.Add(CreateReach());
        command.Subcommands.Add(LabWanCommand.Create());
        command.Subcommands.Add(LabDownCommand.Create());
        command.Subcommands.Add(Wan.LabRelayCommand.Create());
        return command;
    }

    private static Command CreateReach()
    {
        var files = PolicyCommand.FilesOption();
        // Without -f, reach measures a running lab (`lab up`) instead of building a throwaway one.
        files.Required = false;
        var name = LabOptions.Name();
        var cluster = LabOptions.Cluster();
        var ports = new Option<string[]>("--port", "-p")
        {
            Description = "PORT[/PROTO] to probe (PROTO: TCP (default), UDP or SCTP); repeatable. Default: every port the pods declare.",
        };
        var output = new Option<string>("--output", "-o")
        {
            Description = "table (default) or json, the same shape as `patronus policy reach`.",
            DefaultValueFactory = _ => "table",
        };
        output.AcceptOnlyFromAmong("table", "json");
        var datapath = new Option<string>("--datapath")
        {
            Description = "The agents' datapath: nftables (default) or ebpf. On a running lab (no -f), the datapath its agents run " +
                "(`lab up --datapath`); naming another is refused.",
        };
        datapath.AcceptOnlyFromAmong(Config.LabConfig.Datapaths);
        var command = new Command("reach",
            "Like `policy reach`, but measured: wires every pod with its status.podIP into a network namespace with the real " +
            "patronus-cni, runs a real patronus-agent on the manifests, listens in every pod on the probed ports and connects " +
            "from every pod to every pod over TCP and UDP. Everything is removed afterwards, also on failure or Ctrl-C.\n" +
            "Without -f, measures the running lab given by --name (and --cluster when it has several) the same way, leaving it running.\n" +
            PolicyCommand.ExitCodes);
        command.Options.Add(files);
        command.Options.Add(name);
        command.Options.Add(cluster);
        command.Options.Add(ports);
        command.Options.Add(output);
        command.Options.Add(datapath);
        command.SetAction((parse, cancellation) =>
        {
            var stderr = parse.InvocationConfiguration.Error;
            var probes = new List<Probe>();
            foreach (var text in parse.GetValue(ports) ?? [])
            {
                if (!Probe.TryParse(text, out var probe, out var error))
                {
                    stderr.WriteLine($"error: {error}");
                    return Task.FromResult(PolicyCommand.UsageError);
                }
                probes.Add(probe);
            }
            var json = parse.GetValue(output) == "json";
            if (parse.GetValue(files) is not { Length: > 0 })
                return Task.Run(() => RunningLabReach.RunAsync(parse.GetValue(name), parse.GetValue(cluster), probes, json, parse.GetValue(datapath), parse.InvocationConfiguration.Output, stderr, cancellation), CancellationToken.None);
            var chosen = parse.GetValue(datapath) ?? Config.LabConfig.DefaultDatapath;
            return Task.Run(() => Reach(parse.GetValue(files)!, probes, json, chosen, parse.InvocationConfiguration.Output, stderr, cancellation), CancellationToken.None);
        });
        return command;
    }

    private static async Task<int> Reach(string[] files, List<Probe> probes, bool json, string datapath, TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            stderr.WriteLine("error: lab reach creates network namespaces and must run as root");
            return PolicyCommand.UsageError;
        }
        var (input, pods) = Load(files, stderr);
        if (probes.Count == 0)
            probes.AddRange(input.DeclaredProbes());
        LabTopology topology;
        LabBinaries binaries;
        try
        {
            topology = LabTopology.Plan(pods);
            binaries = LabBinaries.Locate();
        }
        catch (Exception e) when (e is ArgumentException or LabException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return PolicyCommand.UsageError;
        }

        // Ctrl-C and SIGTERM cancel the token (see Program.cs); the cluster is still torn down on the way out.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        stderr.WriteLine($"lab: building {topology.Nodes.Count} node(s) and {pods.Count} pod(s), datapath {datapath}");
        try
        {
            using var cluster = LabCluster.Build(topology, files, binaries, stderr, stop.Token, datapath);
            using var prober = new LabProber();
            var measurable = probes.Where(p => p.Protocol != Protocol.Sctp).ToList();
            prober.Listen(cluster.Pods, measurable);
            var unavailable = new Dictionary<int, string>();
            var measuring = new Task<bool[][]>[probes.Count];
            using var slots = new SemaphoreSlim(512);
            for (var p = 0; p < probes.Count; p++)
            {
                if (probes[p].Protocol == Protocol.Sctp)
                {
                    unavailable[p] = "SCTP sockets are not available on this machine";
                    measuring[p] = Task.FromResult(Array.Empty<bool[]>());
                    continue;
                }
                measuring[p] = Measure(cluster.Pods, prober, pods, probes[p], slots, stop.Token);
            }
            var allowed = await Task.WhenAll(measuring);
            var matrix = new ReachMatrix(pods.Select(p => p.Id).ToList(), probes, allowed, unavailable);
            if (json)
                matrix.WriteJson(stdout);
            else
                matrix.WriteTable(PolicyCommand.Console(stdout));
            foreach (var reason in unavailable.Values.Distinct())
                stderr.WriteLine($"lab: not measured: {reason}");
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            stderr.WriteLine("lab: interrupted; everything it made has been removed");
            return 130;
        }
        catch (Exception e) when (e is LabException or NetlinkException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 3;
        }
        return input.HadErrors ? PolicyCommand.PartialInput : PolicyCommand.Success;
    }

    /// <summary>The manifests as `policy reach` reads them, and the pods the lab builds: those with an address, on their spec.nodeName.</summary>
    internal static (PolicyInput Input, List<LabPod> Pods) Load(IReadOnlyList<string> files, TextWriter stderr)
    {
        var set = ManifestLoader.LoadFiles(files);
        var input = PolicyInput.From(ManifestModel.From(set), stderr);
        var nodeOf = set.Pods.ToDictionary(
            p => new EndpointId(p.Metadata?.NamespaceProperty ?? "default", p.Metadata?.Name ?? ""),
            p => string.IsNullOrEmpty(p.Spec?.NodeName) ? "node-1" : p.Spec.NodeName);
        var pods = input.Endpoints()
            .Select(e => new LabPod(e.Endpoint, e.Addresses, nodeOf.GetValueOrDefault(e.Endpoint, "node-1")))
            .ToList();
        return (input, pods);
    }

    /// <summary>Every pair of every probe at once (bounded by <paramref name="slots"/>), since a denied probe costs a full timeout.</summary>
    internal static async Task<bool[][]> Measure(IReadOnlyDictionary<LabPod, NetNs> sandboxes, LabProber prober, List<LabPod> pods, Probe probe, SemaphoreSlim slots, CancellationToken cancellation)
    {
        var rows = pods.Select(from => pods.Select(async to =>
        {
            await slots.WaitAsync(cancellation);
            try
            {
                return await prober.ReachesAsync(sandboxes[from], to, probe, cancellation);
            }
            finally
            {
                slots.Release();
            }
        }).ToArray()).ToArray();
        var result = new bool[pods.Count][];
        for (var i = 0; i < rows.Length; i++)
            result[i] = await Task.WhenAll(rows[i]);
        return result;
    }
}
