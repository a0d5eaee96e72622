using System.CommandLine;
using System.Runtime.InteropServices;

namespace Patronus.Cli.Lab.Wan;

/// <summary>
/// <c>patronus lab relay</c> (hidden): the process behind a WAN link, started by <c>lab up</c> in the link's namespace
/// as a daemon of the lab. Not for people: its arguments are the lab's business.
/// </summary>
internal static class LabRelayCommand
{
    public static Command Create()
    {
        var sideA = new Option<string>("--side-a") { Required = true, Description = "The relay port of the link's first side." };
        var sideB = new Option<string>("--side-b") { Required = true, Description = "The relay port of the link's second side." };
        var settings = new Option<string>("--settings") { Required = true, Description = "The link's settings file (JSON), reread when it changes." };
        var applied = new Option<string>("--applied") { Required = true, Description = "Where the relay writes the settings generation it applied." };
        var command = new Command("relay", "Relay frames between the two sides of a lab WAN link (run by `lab up`).") { Hidden = true };
        command.Options.Add(sideA);
        command.Options.Add(sideB);
        command.Options.Add(settings);
        command.Options.Add(applied);
        command.SetAction((parse, cancellation) =>
        {
            var log = parse.InvocationConfiguration.Error;
            try
            {
                using var relay = WanRelay.Open(parse.GetValue(sideA)!, parse.GetValue(sideB)!, parse.GetValue(settings)!, parse.GetValue(applied)!, log);
                log.WriteLine($"relay: {parse.GetValue(sideA)} <-> {parse.GetValue(sideB)} (pid {Environment.ProcessId})");
                relay.Run(cancellation);
                return Task.FromResult(0);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ExternalException)
            {
                log.WriteLine($"error: {e.Message}");
                return Task.FromResult(3);
            }
        });
        return command;
    }
}
