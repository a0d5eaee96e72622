using System.Text.Json;
using Patronus.Cni.Config;
using Patronus.Cni.Spec;
using Patronus.Netlink;

namespace Patronus.Cni.Commands;

/// <summary>
/// One run of the plugin: read the environment and stdin, run the verb, print its result or the spec's
/// error JSON (SPEC.md section 5, "Error"), and return the exit code. No exception escapes as a stack trace.
/// </summary>
public static class Invocation
{
    public static int Run(Func<string, string?> getEnv, Stream stdin, Stream stdout)
    {
        byte[] input = [];
        try
        {
            var env = CniEnvironment.Read(getEnv);
            input = ReadAll(stdin);
            var output = Dispatch(env, input);
            stdout.Write(output);
            stdout.Flush();
            return 0;
        }
        catch (CniException e)
        {
            return Fail(stdout, input, e.Code, e.Message, e.Details);
        }
        catch (NetlinkException e)
        {
            // EBUSY / EAGAIN: the kernel asks to retry; the runtime will (code 11).
            var code = e.Errno is 11 or 16 ? CniErrorCode.TryAgainLater : CniErrorCode.IoFailure;
            return Fail(stdout, input, code, e.Message, null);
        }
        catch (IOException e)
        {
            return Fail(stdout, input, CniErrorCode.IoFailure, e.Message, null);
        }
        catch (Exception e)
        {
            // Anything unexpected comes from the system underneath (the kernel, the file system): the
            // spec's "I/O failure" with the message, but never the stack trace.
            return Fail(stdout, input, CniErrorCode.IoFailure, $"{e.GetType().Name}: {e.Message}", null);
        }
    }

    private static byte[] Dispatch(CniEnvironment env, byte[] input)
    {
        if (env.Command == CniCommand.Version)
        {
            return VersionCommand.Run(input);
        }

        using var conf = new ParsedConf(NetConf.Parse(input));
        return env.Command switch
        {
            CniCommand.Add => AddCommand.Run(env, conf.Value),
            CniCommand.Del => DelCommand.Run(env, conf.Value),
            CniCommand.Check => CheckCommand.Run(env, conf.Value),
            CniCommand.Gc => GcCommand.Run(env, conf.Value),
            CniCommand.Status => StatusCommand.Run(env, conf.Value),
            _ => throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_COMMAND {env.Command} is not handled"),
        };
    }

    private static int Fail(Stream stdout, byte[] input, CniErrorCode code, string message, string? details)
    {
        stdout.Write(CniJson.WriteError(VersionForError(input), code, message, details));
        stdout.Flush();
        return 1;
    }

    /// <summary>The error is printed in the config's version when it has a supported one.</summary>
    private static string VersionForError(byte[] input)
    {
        try
        {
            using var doc = JsonDocument.Parse(input);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("cniVersion", out var v)
                && v.ValueKind == JsonValueKind.String
                && CniVersion.IsSupported(v.GetString()!))
            {
                return v.GetString()!;
            }
        }
        catch (JsonException)
        {
        }

        return CniVersion.Latest;
    }

    private static byte[] ReadAll(Stream stdin)
    {
        using var buffer = new MemoryStream();
        stdin.CopyTo(buffer);
        return buffer.ToArray();
    }

    private readonly struct ParsedConf(NetConf value) : IDisposable
    {
        public NetConf Value { get; } = value;

        public void Dispose() => Value.Document.Dispose();
    }
}
