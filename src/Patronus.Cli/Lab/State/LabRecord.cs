using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Patronus.Cli.Lab.Plan;
using Patronus.Cli.Lab.Processes;

namespace Patronus.Cli.Lab.State;

/// <summary>
/// Everything a lab has made or is about to make, kept as state.json in the lab's directory. Each resource is
/// recorded before it is made, so a build killed at any point leaves a record that names everything that may
/// exist; <c>lab down</c> removes what it names (and whatever else carries the lab's name).
/// </summary>
public sealed class LabRecord
{
    public const string Building = "building";
    public const string Up = "up";
    public const string Failed = "failed";

    public int Version { get; set; } = 1;

    public string Name { get; set; } = "";

    /// <summary><see cref="Building"/> until <c>lab up</c> has finished, then <see cref="Up"/>; <see cref="Failed"/> when a build stopped with an error and was kept (--retain).</summary>
    public string Phase { get; set; } = Building;

    /// <summary>The LAB.yaml the lab was built from.</summary>
    public string? Source { get; set; }

    public DateTimeOffset Created { get; set; }

    /// <summary>The <c>lab up</c> process while it builds; <c>lab down</c> stops it first.</summary>
    public ProcessRecord? Builder { get; set; }

    public required LabPlan Plan { get; set; }

    /// <summary>Network namespaces, in the order they were made.</summary>
    public List<string> Namespaces { get; set; } = [];

    /// <summary>The agents (and any other daemon) started for the lab.</summary>
    public List<ProcessRecord> Processes { get; set; } = [];

    /// <summary>Pods with a sandbox (a network namespace wired by the plugin, or being wired), in every cluster.</summary>
    public List<PodRecord> Pods { get; set; } = [];

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new IPAddressConverter(), new IPNetworkConverter() },
    };
}

/// <param name="ContainerId">The CNI container id (CNI_CONTAINERID) of the pod's sandbox.</param>
/// <param name="Ips">The addresses the plugin gave the pod; empty until ADD has returned.</param>
public sealed record PodRecord(string Cluster, string Namespace, string Name, string Node, string Netns, string ContainerId, IReadOnlyList<string> Ips)
{
    public string Id => $"{Namespace}/{Name}";
}

internal sealed class IPAddressConverter : JsonConverter<IPAddress>
{
    public override IPAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        IPAddress.Parse(reader.GetString() ?? throw new JsonException("expected an IP address"));

    public override void Write(Utf8JsonWriter writer, IPAddress value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

internal sealed class IPNetworkConverter : JsonConverter<IPNetwork>
{
    public override IPNetwork Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        IPNetwork.Parse(reader.GetString() ?? throw new JsonException("expected a CIDR"));

    public override void Write(Utf8JsonWriter writer, IPNetwork value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}
