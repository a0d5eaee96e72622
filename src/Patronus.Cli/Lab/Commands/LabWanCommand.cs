using System.CommandLine;
using System.Globalization;
using Patronus.Cli.Lab.Config;
using Patronus.Cli.Lab.Running;
using Patronus.Cli.Lab.Wan;

namespace Patronus.Cli.Lab.Commands;

/// <summary>
/// <c>patronus lab wan LINK [--name NAME] [--delay MS] [--jitter MS] [--loss PCT] [--rate MBIT] [--down | --up]</c>:
/// change a WAN link of a running lab. The relay applies the change without a restart, so tunnels keep their sessions.
/// </summary>
internal static class LabWanCommand
{
    public static Command Create()
    {
        var link = new Argument<string>("LINK") { Description = "The link's id (LAB.yaml's wan[].id)." };
        var name = LabOptions.Name();
        var delay = new Option<double?>("--delay") { Description = "One-way delay in milliseconds, in each direction (0: none)." };
        var jitter = new Option<double?>("--jitter") { Description = "Jitter in milliseconds: each frame's delay is drawn from delay ± jitter (0: none)." };
        var loss = new Option<double?>("--loss") { Description = "Percent of frames dropped at random, 0 to 100." };
        var rate = new Option<double?>("--rate") { Description = "Rate limit per direction in Mbit/s; 0 removes the limit." };
        var down = new Option<bool>("--down") { Description = "Cut the link: every frame is dropped until --up." };
        var up = new Option<bool>("--up") { Description = "Restore a cut link." };
        var command = new Command("wan",
            "Change a WAN link of a running lab (the others keep their values) and print what it does now. Values left out stay as " +
            "they are. Returns once the link's relay has applied the change.\n" + LabOptions.ExitCodes);
        command.Arguments.Add(link);
        foreach (var option in new Option[] { name, delay, jitter, loss, rate, down, up })
            command.Options.Add(option);
        command.SetAction((parse, cancellation) =>
        {
            var stderr = parse.InvocationConfiguration.Error;
            var stdout = parse.InvocationConfiguration.Output;
            return Task.Run(() => LabOptions.RunAsync(stderr, async store =>
            {
                var change = new WanChange(parse.GetValue(delay), parse.GetValue(jitter), parse.GetValue(loss), parse.GetValue(rate),
                    parse.GetValue(down) ? false : parse.GetValue(up) ? true : null);
                if (parse.GetValue(down) && parse.GetValue(up))
                    throw new LabConfigException("--down and --up: choose one");
                if (change.Check() is { } error)
                    throw new LabConfigException(error);
                var lab = LabOptions.NameOrDefault(parse.GetValue(name));
                using var labLock = store.Lock(lab, TimeSpan.FromSeconds(60));
                var record = LabAccess.LoadUp(store, lab);
                var id = parse.GetValue(link)!;
                var plan = record.Plan.WanLinks.FirstOrDefault(l => l.Id == id)
                    ?? throw new LabConfigException(record.Plan.WanLinks.Count == 0
                        ? $"LINK: lab {lab} has no wan links"
                        : $"LINK: lab {lab} has no wan link \"{id}\" (links: {string.Join(", ", record.Plan.WanLinks.Select(l => l.Id))})");
                var settings = change.ApplyTo(WanFabric.Current(plan));
                if (!change.IsEmpty)
                    await WanFabric.ChangeAsync(record, plan, settings, cancellation);
                stdout.WriteLine(Describe(plan.Id, WanFabric.Current(plan)));
                return LabOptions.Success;
            }), CancellationToken.None);
        });
        return command;
    }

    public static string Describe(string id, WanLinkSettings s) => string.Create(CultureInfo.InvariantCulture,
        $"{id}: {(s.Up ? "up" : "down")}, delay {s.Delay} ms, jitter {s.Jitter} ms, loss {s.Loss} %, rate {(s.Rate is { } r ? $"{r} Mbit/s" : "unlimited")}");
}

/// <summary>What <c>lab wan</c> was asked to change; null leaves a value as it is. Pure, so its checks are tested directly.</summary>
public sealed record WanChange(double? Delay, double? Jitter, double? Loss, double? Rate, bool? Up)
{
    public bool IsEmpty => Delay is null && Jitter is null && Loss is null && Rate is null && Up is null;

    /// <summary>Why the change cannot be made, naming the option, or null.</summary>
    public string? Check()
    {
        if (Delay is { } d && (d < 0 || d > 60_000 || !double.IsFinite(d)))
            return $"--delay: {d} is not a delay in milliseconds from 0 to 60000";
        if (Jitter is { } j && (j < 0 || j > 60_000 || !double.IsFinite(j)))
            return $"--jitter: {j} is not a jitter in milliseconds from 0 to 60000";
        if (Loss is { } l && (l < 0 || l > 100 || !double.IsFinite(l)))
            return $"--loss: {l} is not a percentage from 0 to 100";
        if (Rate is { } r && (r < 0 || r > 100_000 || (r > 0 && r < 0.008) || !double.IsFinite(r)))
            return $"--rate: {r} is not a rate in Mbit/s (0: unlimited, else 0.008 to 100000)";
        return null;
    }

    public WanLinkSettings ApplyTo(WanLinkSettings current) => current with
    {
        Delay = Delay ?? current.Delay,
        Jitter = Jitter ?? current.Jitter,
        Loss = Loss ?? current.Loss,
        Rate = Rate is { } r ? (r == 0 ? null : r) : current.Rate,
        Up = Up ?? current.Up,
    };
}
