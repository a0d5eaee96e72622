using System.Net;
using Microsoft.Extensions.Configuration;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Spool;

namespace Patronus.Agent.Hosting;

/// <summary>
/// The agent's settings. Each comes from the command line (<c>--socket PATH</c>), the environment
/// (<c>PATRONUS_AGENT_SOCKET</c>) or a JSON file given with <c>--config</c> (<c>{"socket": "..."}</c>),
/// in that order of precedence.
/// </summary>
public sealed class AgentOptions
{
    /// <summary>kubeconfig file to reach the API server; without it (and without <see cref="Manifests"/>) the in-cluster service account is used.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>Embedded mode: the cluster is this folder of manifests instead of an API server.</summary>
    public string? Manifests { get; set; }

    /// <summary>Unix socket on which the plugin registers endpoints and the CLI asks for status.</summary>
    public string Socket { get; set; } = AgentClient.DefaultSocketPath;

    /// <summary>SQLite database holding the endpoints (the plugin's sdwan.database).</summary>
    public string Database { get; set; } = "/var/lib/patronus/k8s-sdwan.db";

    /// <summary>Folder where the plugin queues removals while the agent is away.</summary>
    public string Spool { get; set; } = PendingRemovalSpool.DefaultDirectory;

    /// <summary>Address and port of the HTTP server for /metrics, /healthz and /readyz. Port 0 picks a free port.</summary>
    public IPEndPoint MetricsAddress { get; set; } = new(IPAddress.Loopback, 9402);

    public string NodeName { get; set; } = Environment.MachineName;

    /// <summary>
    /// "nftables" or "ebpf" enforce in the kernel; "auto" takes ebpf where BPF can be loaded and falls back to
    /// nftables (saying why) where it cannot; "none" computes policy without enforcing it (tests, dry runs).
    /// </summary>
    public string Datapath { get; set; } = "nftables";

    /// <summary>The bpffs where the eBPF datapath pins its maps and programs (a bpffs is mounted there if there is none).</summary>
    public string Bpffs { get; set; } = "/sys/fs/bpf";

    /// <summary>Network namespace (a file such as /var/run/netns/node1) whose rules the nftables datapath programs; null is the agent's own (the node's, with hostNetwork). For labs and tests.</summary>
    public string? Netns { get; set; }

    /// <summary>The pods' bridge, reported by status.</summary>
    public string Bridge { get; set; } = "cni-bridge0";

    /// <summary>Where the CNI plugin binary is installed, reported by status.</summary>
    public string CniBinDir { get; set; } = "/opt/cni/bin";

    /// <summary>How long a registration waits for its pod to appear in the cluster state before policy is computed from what is known.</summary>
    public TimeSpan PodWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often informers re-list everything.</summary>
    public TimeSpan Resync { get; set; } = TimeSpan.FromMinutes(10);

    public string Source => Manifests is null ? "kubernetes" : "manifests";

    /// <summary>Command-line options and the configuration keys they set.</summary>
    internal static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>
    {
        ["--config"] = "config",
        ["--kubeconfig"] = "kubeconfig",
        ["--manifests"] = "manifests",
        ["--socket"] = "socket",
        ["--database"] = "database",
        ["--spool"] = "spool",
        ["--metrics-address"] = "metricsAddress",
        ["--node-name"] = "nodeName",
        ["--datapath"] = "datapath",
        ["--bpffs"] = "bpffs",
        ["--bridge"] = "bridge",
        ["--netns"] = "netns",
        ["--cni-bin-dir"] = "cniBinDir",
        ["--pod-wait-seconds"] = "podWaitSeconds",
        ["--resync-seconds"] = "resyncSeconds",
        ["--log-level"] = "logLevel",
    };

    /// <summary>Checks the command line's shape: every option known, every option with a value.</summary>
    public static void CheckArguments(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i].Split('=', 2)[0];
            if (!Switches.ContainsKey(name))
                throw new AgentOptionsException($"unknown option '{args[i]}'; known options: {string.Join(", ", Switches.Keys)}");
            if (!args[i].Contains('='))
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--"))
                    throw new AgentOptionsException($"option '{name}' needs a value");
                i++;
            }
        }
    }

    public static AgentOptions From(IConfiguration configuration)
    {
        var options = new AgentOptions();
        options.Kubeconfig = Text("kubeconfig", null);
        options.Manifests = Text("manifests", null);
        if (options.Kubeconfig is not null && options.Manifests is not null)
            throw new AgentOptionsException("options 'kubeconfig' and 'manifests' exclude each other: give one cluster source");
        if (options.Kubeconfig is not null && !File.Exists(options.Kubeconfig))
            throw new AgentOptionsException($"option 'kubeconfig': file '{options.Kubeconfig}' does not exist");
        if (options.Manifests is not null && !Directory.Exists(options.Manifests))
            throw new AgentOptionsException($"option 'manifests': folder '{options.Manifests}' does not exist");
        options.Socket = Text("socket", options.Socket)!;
        options.Database = Text("database", options.Database)!;
        options.Spool = Text("spool", options.Spool)!;
        options.NodeName = Text("nodeName", Environment.GetEnvironmentVariable("NODE_NAME") ?? options.NodeName)!;
        options.Bridge = Text("bridge", options.Bridge)!;
        options.Netns = Text("netns", null);
        if (options.Netns is not null && !File.Exists(options.Netns))
            throw new AgentOptionsException($"option 'netns': '{options.Netns}' does not exist (expected a network namespace file such as /var/run/netns/NAME)");
        options.CniBinDir = Text("cniBinDir", options.CniBinDir)!;
        options.Datapath = Text("datapath", options.Datapath)!;
        if (options.Datapath is not ("nftables" or "ebpf" or "auto" or "none"))
            throw new AgentOptionsException($"option 'datapath' is '{options.Datapath}'; expected nftables, ebpf, auto or none");
        options.Bpffs = Text("bpffs", options.Bpffs)!;
        if (Text("metricsAddress", null) is { } address)
        {
            if (!IPEndPoint.TryParse(address, out var endpoint) || endpoint.Port == 0 && !address.EndsWith(":0"))
                throw new AgentOptionsException($"option 'metrics-address' is '{address}'; expected ADDRESS:PORT such as 127.0.0.1:9402");
            options.MetricsAddress = endpoint;
        }
        options.PodWait = Seconds("podWaitSeconds", options.PodWait);
        options.Resync = Seconds("resyncSeconds", options.Resync);
        return options;

        string? Text(string key, string? fallback)
        {
            var value = configuration[key];
            return string.IsNullOrWhiteSpace(value) ? fallback : value.Trim();
        }

        TimeSpan Seconds(string key, TimeSpan fallback)
        {
            var value = configuration[key];
            if (string.IsNullOrWhiteSpace(value))
                return fallback;
            if (!double.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds < 0)
                throw new AgentOptionsException($"option '{key}' is '{value}'; expected a number of seconds");
            return TimeSpan.FromSeconds(seconds);
        }
    }
}

/// <summary>A setting that cannot be used; the message names it.</summary>
public sealed class AgentOptionsException(string message) : Exception(message);
