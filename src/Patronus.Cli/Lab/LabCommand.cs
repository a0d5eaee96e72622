using System.CommandLine;

namespace Patronus.Cli.Lab;

internal static class LabCommand
{
    public static Command Create()
    {
        var command = new Command("lab", "Not built yet.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("patronus lab: not built yet");
            return 1;
        });
        return command;
    }
}
