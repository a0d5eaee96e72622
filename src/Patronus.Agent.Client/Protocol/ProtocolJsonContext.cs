using System.Text.Json.Serialization;

namespace Patronus.Agent.Client.Protocol;

/// <summary>Source-generated (de)serialisation, so the NativeAOT plugin can speak the protocol without reflection.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(AgentRequest))]
[JsonSerializable(typeof(AgentReply))]
[JsonSerializable(typeof(EndpointRemoval))]
[JsonSerializable(typeof(EndpointRegistration))]
[JsonSerializable(typeof(MeshStatus))]
[JsonSerializable(typeof(ServicesStatus))]
[JsonSerializable(typeof(PathsStatus))]
public sealed partial class ProtocolJsonContext : JsonSerializerContext;
