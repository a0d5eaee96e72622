using System.Net;
using Microsoft.Extensions.Configuration;
using Patronus.Agent.Client;
using Patronus.Agent.Client.Spool;
using Patronus.Agent.Mesh;
using Patronus.Agent.Routes;

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

    /// <summary>Most connections the socket serves at once; more are answered with an error and closed. Each plugin ADD or DEL holds one.</summary>
    public int SocketMaxConnections { get; set; } = 256;

    /// <summary>How long a connection may stay open without a request before it is closed.</summary>
    public TimeSpan SocketIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a request may take to arrive whole (from its first byte to its newline) before it is refused and the connection closed.</summary>
    public TimeSpan SocketRequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often removals the plugin queued in <see cref="Spool"/> while the agent was slow are applied.</summary>
    public TimeSpan SpoolInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Routes between nodes, masquerade and the node's conflist.</summary>
    public RoutesOptions Routes { get; set; } = new();

    /// <summary>WireGuard to the other clusters and sites of the set: gateways, keys, trust.</summary>
    public MeshOptions Mesh { get; set; } = new();

    /// <summary>Multi-cluster services (ServiceExport, ServiceImport, ClusterSetIP, clusterset.local DNS); off unless a ClusterSetIP range is given with the mesh.</summary>
    public Patronus.Agent.Services.ServicesOptions Services { get; set; } = new();

    public Patronus.Agent.Paths.PathsOptions Paths { get; set; } = new();

    /// <summary>A site joins the mesh without Kubernetes: no cluster state, no policy, no routes between nodes.</summary>
    public bool IsSite => Mesh.SiteName is not null;

    public string Source => IsSite ? "site" : Manifests is null ? "kubernetes" : "manifests";

    /// <summary>Command-line options: the configuration key each sets, its default, and what it is for (--help prints them).</summary>
    internal static readonly IReadOnlyList<(string Switch, string Key, string Default, string Description)> Documented =
    [
        ("--config", "config", "(none)", "JSON file of settings (keys as below); PATRONUS_AGENT_<KEY> environment variables and options override it"),
        ("--kubeconfig", "kubeconfig", "(in-cluster service account)", "kubeconfig file to reach the API server"),
        ("--manifests", "manifests", "(none)", "embedded mode: a folder of manifests instead of an API server"),
        ("--socket", "socket", AgentClient.DefaultSocketPath, "unix socket for the plugin and the CLI"),
        ("--database", "database", "/var/lib/patronus/k8s-sdwan.db", "SQLite database of endpoints"),
        ("--spool", "spool", PendingRemovalSpool.DefaultDirectory, "folder where the plugin queues changes while the agent is away"),
        ("--metrics-address", "metricsAddress", "127.0.0.1:9402", "ADDRESS:PORT for /metrics, /healthz, /readyz (port 0 picks one)"),
        ("--node-name", "nodeName", "$NODE_NAME or the host name", "the Node this agent serves"),
        ("--datapath", "datapath", "nftables", "policy enforcement: nftables, ebpf, auto (eBPF where it can run, else nftables), or none (compute only; also turns routing off)"),
        ("--bpffs", "bpffs", "/sys/fs/bpf", "the bpffs where the eBPF datapath pins its maps and programs (mounted if there is none)"),
        ("--bridge", "bridge", "cni-bridge0", "the pods' bridge"),
        ("--netns", "netns", "(the agent's own)", "network namespace file to program (labs and tests)"),
        ("--cni-bin-dir", "cniBinDir", "/opt/cni/bin", "where the plugin is installed (reported by status)"),
        ("--pod-wait-seconds", "podWaitSeconds", "5", "how long a registration waits for its pod to appear"),
        ("--resync-seconds", "resyncSeconds", "600", "how often informers re-list everything"),
        ("--socket-max-connections", "socketMaxConnections", "256", "concurrent connections on the socket"),
        ("--socket-idle-timeout-seconds", "socketIdleTimeoutSeconds", "30", "idle connections are closed after this"),
        ("--socket-request-timeout-seconds", "socketRequestTimeoutSeconds", "10", "a request must arrive whole within this"),
        ("--spool-interval-seconds", "spoolIntervalSeconds", "5", "how often queued plugin changes are applied"),
        ("--routing", "routing", "auto", "routes between nodes: auto (direct on a shared subnet, VXLAN beyond), direct, vxlan, or none"),
        ("--cni-conf-template", "cniConfTemplate", "(none: no conflist written)", "conflist template; the node's pod ranges and MTU are filled in"),
        ("--cni-conf-path", "cniConfPath", "/etc/cni/net.d/10-patronus.conflist", "where the node's conflist is written once the agent is ready"),
        ("--cluster-cidr", "clusterCidr", "(none)", "the cluster's pod ranges, comma-separated (patronus-config cluster-cidr): never masqueraded"),
        ("--service-cidr", "serviceCidr", "(none)", "the service ranges, comma-separated (patronus-config service-cidr): never masqueraded"),
        ("--non-masquerade-cidrs", "nonMasqueradeCidrs", "(none)", "more destinations that keep pods' addresses, comma-separated"),
        ("--masquerade", "masquerade", "true", "pod traffic leaving the cluster set takes the node's address"),
        ("--cluster-id", "clusterId", "(none: no mesh)", "this cluster's id in the mesh (patronus-config cluster-id); with --cluster-set-key turns the mesh on"),
        ("--cluster-set-key", "clusterSetKey", "(none)", "base64 Ed25519 public keys of the cluster sets whose member certificates are trusted, comma-separated (patronus-config cluster-set-key)"),
        ("--mesh-keys", "meshKeys", "/var/lib/patronus/mesh", "folder of this member's keys (identity.key, wireguard.key: 0600, created if missing) and certificate (member.cert)"),
        ("--remote-clusters", "remoteClusters", "(none)", "YAML or JSON list of {id, endpoint, cidr} (patronus-config remote-clusters): announced to, and their ranges routed to a gateway"),
        ("--gateway-label", "gatewayLabel", "patronus.io/gateway", "a Node with this label set to \"true\" runs the mesh's WireGuard gateway"),
        ("--mesh-interface", "meshInterface", "wg-sdwan", "the gateway's WireGuard device"),
        ("--interface", "meshInterface", "wg-sdwan", "the same, as sites name it"),
        ("--mesh-wireguard-go", "meshWireGuardGo", "spawn", "where the kernel has no WireGuard: spawn (the agent starts wireguard-go) or external (it runs in a container of its own, the patronus-wireguard DaemonSet, and outlives the agent's: the agent waits for its device and adopts it)"),
        ("--listen-port", "listenPort", "51820", "the gateway's WireGuard UDP port"),
        ("--mesh-discovery-port", "meshDiscoveryPort", "51821", "UDP port of the signed announcements"),
        ("--mesh-probe-port", "meshProbePort", "51822", "UDP port gateways answer liveness probes on (from their nodes and the remote gateways); 0: none"),
        ("--multicast-group", "multicastGroup", "239.255.77.77:51821", "GROUP:PORT where announcements are also sent and heard, or none"),
        ("--mesh-endpoints", "meshEndpoints", "(the Node's addresses)", "ADDRESS:PORT or NAME=ADDRESS:PORT list the gateway announces, comma-separated; each port is a WAN path of its own (a WireGuard device), NAME its path id"),
        ("--path-probe-interval-ms", "pathProbeIntervalMs", "50", "how often each WAN path is probed inside its tunnel (a path is Down after 3 silent probes)"),
        ("--path-hold-down-ms", "pathHoldDownMs", "2000", "how long a path must meet a class's SLA before traffic moves (back) to it"),
        ("--path-capacities", "pathCapacities", "(unknown)", "PATH=MBIT list of the paths' capacities, comma-separated: bulk's spare capacity, minimum bandwidths"),
        ("--default-qos-class", "defaultQosClass", "best-effort", "the QoS class of pods without patronus.io/qos-class (latency-sensitive, best-effort or bulk)"),
        ("--key-rotation-seconds", "keyRotationSeconds", "86400", "how often the WireGuard key is replaced (0: never)"),
        ("--announce-interval-seconds", "announceIntervalSeconds", "5", "how often a gateway announces itself"),
        ("--clusterset-ip-range", "clusterSetIpRange", "(none: multi-cluster services off)", "ClusterSetIP ranges, one per family, comma-separated (e.g. 10.112.0.0/16); with the mesh turns multi-cluster services on"),
        ("--clusterset-dns", "clusterSetDns", "(none)", "ADDRESS:PORT where this node answers the clusterset.local zone"),
        ("--services-port", "servicesPort", "51823", "UDP port of the signed service announcements between gateways"),
        ("--clusterset-prefer-local", "clusterSetPreferLocal", "false", "a ClusterSetIP port this cluster exports with ready endpoints goes to them only (to the other clusters' when none is ready)"),
        ("--site-name", "siteName", "(none: a cluster's agent)", "join a plain network to the mesh as this site: no Kubernetes, policy or node routes"),
        ("--log-level", "logLevel", "Information", "Trace, Debug, Information, Warning, Error or Critical"),
        ("--debug", "logLevel", "(off)", "the same as --log-level Debug (takes no value)"),
    ];

    /// <summary>Command-line options and the configuration keys they set.</summary>
    internal static readonly IReadOnlyDictionary<string, string> Switches = Documented.ToDictionary(o => o.Switch, o => o.Key);

    /// <summary>The command line with its value-less flags spelled out (<c>--debug</c> is <c>--log-level Debug</c>), as the configuration reader needs.</summary>
    public static string[] Normalize(IEnumerable<string> args) =>
        args.SelectMany(a => a == "--debug" ? (string[])["--log-level", "Debug"] : [a]).ToArray();

    /// <summary>The text of <c>patronus-agent --help</c>.</summary>
    public static string Help()
    {
        var sb = new System.Text.StringBuilder("Usage: patronus-agent [OPTIONS]\n\nThe Patronus node agent. Options (default in brackets):\n");
        foreach (var (name, _, fallback, description) in Documented)
            sb.Append($"  {name,-34} {description} [{fallback}]\n");
        sb.Append("  --help                             print this and exit\n");
        return sb.ToString();
    }

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
        options.SocketIdleTimeout = Positive(Seconds("socketIdleTimeoutSeconds", options.SocketIdleTimeout), "socketIdleTimeoutSeconds");
        options.SocketRequestTimeout = Positive(Seconds("socketRequestTimeoutSeconds", options.SocketRequestTimeout), "socketRequestTimeoutSeconds");
        options.SpoolInterval = Positive(Seconds("spoolIntervalSeconds", options.SpoolInterval), "spoolIntervalSeconds");
        if (configuration["socketMaxConnections"] is { } connections && !string.IsNullOrWhiteSpace(connections))
        {
            if (!int.TryParse(connections, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var max) || max < 1)
                throw new AgentOptionsException($"option 'socketMaxConnections' is '{connections}'; expected a whole number of at least 1");
            options.SocketMaxConnections = max;
        }
        ReadRoutes(options, configuration);
        MeshSettings.Read(options, configuration);
        Patronus.Agent.Services.ServicesSettings.Read(options, configuration);
        Patronus.Agent.Paths.PathsSettings.Read(options, configuration);
        if (options.IsSite)
        {
            if (options.Kubeconfig is not null || options.Manifests is not null)
                throw new AgentOptionsException("option 'site-name' excludes 'kubeconfig' and 'manifests': a site has no Kubernetes");
            // Nothing of a cluster's node runs on a site: no pods to enforce policy for, no other nodes to route to.
            options.Datapath = "none";
            options.Routes.Enabled = false;
        }
        return options;

        TimeSpan Positive(TimeSpan value, string key) =>
            value > TimeSpan.Zero ? value : throw new AgentOptionsException($"option '{key}' must be more than 0 seconds");

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

    private static void ReadRoutes(AgentOptions options, IConfiguration configuration)
    {
        var routes = options.Routes;
        var mode = configuration["routing"]?.Trim();
        if (string.IsNullOrEmpty(mode))
            routes.Enabled = options.Datapath != "none"; // a dry run touches nothing in the kernel
        else if (mode == "none")
            routes.Enabled = false;
        else if (Enum.TryParse<RoutingMode>(mode, ignoreCase: true, out var parsed) && mode.All(char.IsLetter))
            routes.Mode = parsed;
        else
            throw new AgentOptionsException($"option 'routing' is '{mode}'; expected auto, direct, vxlan or none");
        if (configuration["cniConfTemplate"] is { Length: > 0 } template)
        {
            if (!File.Exists(template))
                throw new AgentOptionsException($"option 'cni-conf-template': file '{template}' does not exist");
            routes.CniConfTemplate = template;
        }
        if (configuration["cniConfPath"] is { Length: > 0 } path)
            routes.CniConfPath = path;
        routes.ClusterCidrs = Networks("clusterCidr");
        routes.ServiceCidrs = Networks("serviceCidr");
        routes.NonMasqueradeCidrs = Networks("nonMasqueradeCidrs");
        if (configuration["masquerade"] is { Length: > 0 } masquerade)
        {
            routes.Masquerade = bool.TryParse(masquerade, out var on)
                ? on
                : throw new AgentOptionsException($"option 'masquerade' is '{masquerade}'; expected true or false");
        }

        List<IPNetwork> Networks(string key)
        {
            var list = new List<IPNetwork>();
            foreach (var text in (configuration[key] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!Patronus.Netlink.NetworkRanges.TryParseNetwork(text, out var network))
                    throw new AgentOptionsException($"option '{key}': '{text}' is not a network in CIDR notation (such as 10.244.0.0/16, host bits zero)");
                list.Add(network);
            }
            return list;
        }
    }
}

/// <summary>A setting that cannot be used; the message names it.</summary>
public sealed class AgentOptionsException(string message) : Exception(message);
