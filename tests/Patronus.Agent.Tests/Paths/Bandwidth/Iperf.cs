using System.Diagnostics;
using System.Text.Json;
using Patronus.Testing;

namespace Patronus.Agent.Tests.Paths.Bandwidth;

/// <summary>
/// A bulk sender saturating a path while a second source sends one stream, both measured by iperf3 (the receiver's
/// byte count, from the client's JSON), the way issue 10 proves a pod's min-bandwidth-mbps.
/// </summary>
internal static class Iperf
{
    /// <summary>16 TCP streams: a bulk pod as it usually is.</summary>
    public const string TcpBulk = "-P 16";

    /// <summary>
    /// UDP at three times the link's rate: a bulk pod that does not back off. At a plain FIFO this leaves a TCP stream
    /// almost nothing, whereas many TCP bulk streams at a tail-drop queue share unevenly (their small windows lose
    /// whole flights and time out), so only this shows a guarantee's absence clearly. 1300-byte datagrams fit a
    /// WireGuard MTU of 1420.
    /// </summary>
    public const string UdpBulk = "-u -b 150M -l 1300";

    /// <summary>
    /// Bulk (<paramref name="bulkArguments"/>) from <paramref name="bulkSource"/> for 9 s; from its third second, one
    /// TCP stream from <paramref name="guaranteedSource"/> for 5 s. Returns both receivers' bits/s. A run that produced
    /// no measurement (iperf3 failed to connect or was starved of CPU on a loaded machine) is retried, twice.
    /// </summary>
    public static (double Guaranteed, double Bulk) Contend(string sender, string receiver, string server, string bulkSource, string guaranteedSource, string bulkArguments)
    {
        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                return ContendOnce(sender, receiver, server, bulkSource, guaranteedSource, bulkArguments, 5301 + 2 * attempt);
            }
            catch (IperfException error)
            {
                last = error;
            }
        }

        throw new InvalidOperationException("iperf3 gave no measurement in three runs", last);
    }

    private static (double Guaranteed, double Bulk) ContendOnce(string sender, string receiver, string server, string bulkSource, string guaranteedSource, string bulkArguments, int port)
    {
        using var bulkServer = Start(receiver, $"iperf3 -s -1 -p {port} -B {server}");
        using var guaranteedServer = Start(receiver, $"iperf3 -s -1 -p {port + 1} -B {server}");
        foreach (var listening in new[] { port, port + 1 })
        {
            if (!Poll.Until(() => Command.Run("ip", ["netns", "exec", receiver, "ss", "-ltn"]).Stdout.Contains($":{listening} "), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50)))
                throw new IperfException($"iperf3 did not listen on {listening}");
        }

        using var bulkClient = Start(sender, $"iperf3 -c {server} -p {port} -B {bulkSource} {bulkArguments} -t 9 -J");
        // The bulk streams fill the queue first: the guaranteed source starts against a saturated path.
        Thread.Sleep(2000);
        using var guaranteedClient = Start(sender, $"iperf3 -c {server} -p {port + 1} -B {guaranteedSource} -t 5 -J");
        var guaranteed = Received(guaranteedClient);
        var bulk = Received(bulkClient);
        bulkServer.WaitForExit(5000);
        guaranteedServer.WaitForExit(5000);
        return (guaranteed, bulk);
    }

    private static Process Start(string netns, string command)
    {
        var info = new ProcessStartInfo("ip", $"netns exec {netns} {command}") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {command}");
    }

    private static double Received(Process client)
    {
        var error = client.StandardError.ReadToEndAsync();
        var output = client.StandardOutput.ReadToEnd();
        if (!client.WaitForExit(40_000))
        {
            client.Kill(entireProcessTree: true);
            throw new IperfException("iperf3 did not finish");
        }

        try
        {
            using var json = JsonDocument.Parse(output);
            if (json.RootElement.TryGetProperty("error", out var failure))
                throw new IperfException($"iperf3: {failure.GetString()}");
            // TCP reports what the receiver got in sum_received; UDP in sum, whose bits/s is the sender's, so the
            // receiver's share is taken off by the loss it reports.
            var end = json.RootElement.GetProperty("end");
            if (end.TryGetProperty("sum_received", out var received))
                return received.GetProperty("bits_per_second").GetDouble();
            var sum = end.GetProperty("sum");
            return sum.GetProperty("bits_per_second").GetDouble() * (1 - sum.GetProperty("lost_percent").GetDouble() / 100);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException)
        {
            throw new IperfException($"iperf3 printed no measurement ({e.Message}): {output[..Math.Min(output.Length, 300)]} {error.Result}");
        }
    }

    private sealed class IperfException(string message) : Exception(message);
}
