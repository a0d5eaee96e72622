using System.Text.Json;
using Patronus.Policy.Compiled;
using Spectre.Console;

namespace Patronus.Cli.Reach;

/// <summary>
/// Who reaches whom, per probe: the answer of `policy reach` (computed from the compiled policy) and of
/// `lab reach` (measured with packets), written in the one shape both print.
/// </summary>
internal sealed class ReachMatrix
{
    private readonly bool[][][] _allowed;

    /// <param name="allowed">
    /// allowed[probe][from][to], indexed like <paramref name="probes"/> and <paramref name="endpoints"/>;
    /// a probe that could not be measured has empty rows, with the reason in <paramref name="unavailable"/>.
    /// </param>
    public ReachMatrix(IReadOnlyList<EndpointId> endpoints, IReadOnlyList<Probe> probes, bool[][][] allowed, IReadOnlyDictionary<int, string>? unavailable = null)
    {
        Endpoints = endpoints;
        Probes = probes;
        _allowed = allowed;
        Unavailable = unavailable ?? new Dictionary<int, string>();
    }

    /// <summary>Probes (by index) that have no answer, and why: SCTP where the kernel has no SCTP sockets.</summary>
    public IReadOnlyDictionary<int, string> Unavailable { get; }

    public IReadOnlyList<EndpointId> Endpoints { get; }

    public IReadOnlyList<Probe> Probes { get; }

    public bool Allowed(int probe, int from, int to) => _allowed[probe][from][to];

    public static ReachMatrix Compute(IReadOnlyList<EndpointId> endpoints, IReadOnlyList<Probe> probes, Func<int, int, Probe, bool> allows) =>
        new(endpoints, probes, probes.Select(probe =>
            endpoints.Select((_, from) => endpoints.Select((_, to) => allows(from, to, probe)).ToArray()).ToArray()).ToArray());

    /// <summary><c>{"results":[{"port":80,"protocol":"TCP","matrix":{"x/a":{"x/a":true,"x/b":false}}}]}</c>, probes in the order given.</summary>
    public void WriteJson(TextWriter stdout)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("results");
            for (var p = 0; p < Probes.Count; p++)
            {
                json.WriteStartObject();
                json.WriteNumber("port", Probes[p].Port);
                json.WriteString("protocol", Probes[p].ProtocolName);
                if (Unavailable.TryGetValue(p, out var reason))
                {
                    json.WriteString("unavailable", reason);
                    json.WriteEndObject();
                    continue;
                }
                json.WriteStartObject("matrix");
                for (var from = 0; from < Endpoints.Count; from++)
                {
                    json.WriteStartObject(Endpoints[from].ToString());
                    for (var to = 0; to < Endpoints.Count; to++)
                        json.WriteBoolean(Endpoints[to].ToString(), Allowed(p, from, to));
                    json.WriteEndObject();
                }
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>A grid per probe for a person: green ✓ allowed, red ✗ denied, readable without colour too.</summary>
    public void WriteTable(IAnsiConsole console)
    {
        if (Endpoints.Count == 0)
        {
            console.MarkupLine("No pods with an IP address in the given files.");
            return;
        }
        if (Probes.Count == 0)
        {
            console.MarkupLine("No ports to probe: the pods declare none; pass --port PORT[/PROTO].");
            return;
        }
        // Full names as column headings when they fit; otherwise numbers, with the number before each row's name.
        var names = Endpoints.Select(e => e.ToString()).ToList();
        var widest = names.Max(n => n.Length);
        var numbered = widest + 4 + Endpoints.Count * (widest + 3) > console.Profile.Width;
        var headings = numbered ? names.Select((_, i) => (i + 1).ToString()).ToList() : names;
        var rowLabels = numbered ? names.Select((n, i) => $"{(i + 1).ToString().PadLeft(Endpoints.Count.ToString().Length)} {n}").ToList() : names;
        for (var p = 0; p < Probes.Count; p++)
        {
            if (Unavailable.TryGetValue(p, out var reason))
            {
                console.MarkupLine($"{Probes[p]}: [yellow]not measured: {Markup.Escape(reason)}[/]");
                console.WriteLine();
                continue;
            }
            var table = new Table { Title = new TableTitle($"{Probes[p]} (rows: from, columns: to)") };
            table.AddColumn(new TableColumn("from \\ to").NoWrap());
            foreach (var heading in headings)
                table.AddColumn(new TableColumn(Markup.Escape(heading)).Centered().NoWrap());
            var allowed = 0;
            for (var from = 0; from < Endpoints.Count; from++)
            {
                var cells = new List<string> { Markup.Escape(rowLabels[from]) };
                for (var to = 0; to < Endpoints.Count; to++)
                {
                    var ok = Allowed(p, from, to);
                    allowed += ok ? 1 : 0;
                    cells.Add(ok ? "[green]✓[/]" : "[red bold]✗[/]");
                }
                table.AddRow(cells.ToArray());
            }
            console.Write(table);
            console.MarkupLine($"{Probes[p]}: [green]{allowed} allowed ✓[/], [red]{Endpoints.Count * Endpoints.Count - allowed} denied ✗[/]");
            console.WriteLine();
        }
    }
}
