using System.Text;
using System.Text.Json;

namespace Patronus.Agent.Client.Protocol;

/// <summary>
/// The wire format: newline-delimited JSON over a unix stream socket. Each request is one line of UTF-8
/// JSON; the agent answers each with one line. JSON never holds a raw newline (strings escape it), so a
/// line is always a whole message.
/// </summary>
public static class AgentProtocol
{
    /// <summary>Largest message either side accepts; a status payload is a few kilobytes.</summary>
    public const int MaxMessageBytes = 1 << 20;

    /// <summary>Largest request the agent reads: a registration is well under 2 KB, and the agent buffers at most this much per connection.</summary>
    public const int MaxRequestBytes = 64 << 10;

    public static byte[] EncodeRequest(AgentRequest request) => Frame(JsonSerializer.SerializeToUtf8Bytes(request, ProtocolJsonContext.Default.AgentRequest));

    public static byte[] EncodeReply(AgentReply reply) => Frame(JsonSerializer.SerializeToUtf8Bytes(reply, ProtocolJsonContext.Default.AgentReply));

    /// <summary>Parses one request line (without its newline). Throws <see cref="AgentProtocolException"/> naming what is wrong.</summary>
    public static AgentRequest DecodeRequest(ReadOnlySpan<byte> line)
    {
        AgentRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(line, ProtocolJsonContext.Default.AgentRequest);
        }
        catch (JsonException e)
        {
            throw new AgentProtocolException($"request is not valid JSON: {e.Message}");
        }
        if (request is null)
            throw new AgentProtocolException("request is null");
        switch (request.Op)
        {
            case AgentOps.Register:
                var endpoint = request.Endpoint ?? throw new AgentProtocolException("register: field 'endpoint' is missing");
                if (EndpointValidation.Problem(endpoint) is { } problem)
                    throw new AgentProtocolException($"register: {problem}");
                break;
            case AgentOps.Unregister:
                var removal = request.Removal ?? throw new AgentProtocolException("unregister: field 'removal' is missing");
                // Lenient on purpose: a removal must reach even an endpoint an older agent stored with a bad field.
                Require(removal.ContainerId, "removal.containerId");
                Require(removal.IfName, "removal.ifName");
                if (removal.ContainerId.Length > EndpointValidation.MaxFieldLength || removal.IfName.Length > EndpointValidation.MaxFieldLength)
                    throw new AgentProtocolException($"unregister: a field is longer than {EndpointValidation.MaxFieldLength} characters");
                break;
            case AgentOps.Status:
            case AgentOps.MeshRotateKeys:
            case AgentOps.MeshServices:
            case AgentOps.Paths:
                break;
            default:
                throw new AgentProtocolException($"field 'op' is '{request.Op}'; expected register, unregister, status, mesh-rotate-keys, mesh-services or paths");
        }
        return request;

        void Require(string? value, string field)
        {
            if (string.IsNullOrEmpty(value))
                throw new AgentProtocolException($"{request.Op}: field '{field}' is missing or empty");
        }
    }

    public static AgentReply DecodeReply(ReadOnlySpan<byte> line)
    {
        try
        {
            return JsonSerializer.Deserialize(line, ProtocolJsonContext.Default.AgentReply)
                ?? throw new AgentProtocolException("reply is null");
        }
        catch (JsonException e)
        {
            throw new AgentProtocolException($"reply is not valid JSON: {e.Message}");
        }
    }

    private static byte[] Frame(byte[] json)
    {
        var framed = new byte[json.Length + 1];
        json.CopyTo(framed, 0);
        framed[^1] = (byte)'\n';
        return framed;
    }

    internal static string Describe(ReadOnlySpan<byte> line) => Encoding.UTF8.GetString(line);
}

/// <summary>A message that does not follow the protocol.</summary>
public sealed class AgentProtocolException(string message) : Exception(message);
