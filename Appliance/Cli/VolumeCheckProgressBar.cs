using Fs.Core.Chunks;
using Spectre.Console;

namespace Appliance.Cli;

/// <summary>Feeds the phases of a volume scan (fsck, gc) into Spectre progress tasks; tolerates reports from parallel workers.</summary>
internal sealed class VolumeCheckProgressBar(Dictionary<VolumeCheckPhase, ProgressTask> tasks) : IProgress<VolumeCheckProgress>
{
    public void Report(VolumeCheckProgress value)
    {
        if (!tasks.TryGetValue(value.Phase, out var task))
            return;
        if (!task.IsStarted)
            task.StartTask();
        if (value.Total < 0)
        {
            task.IsIndeterminate = true;
            return;
        }
        task.IsIndeterminate = false;
        task.MaxValue = Math.Max(1, value.Total);
        task.Value = value.Total == 0 ? 1 : value.Done;
        if (value.Done >= value.Total)
            task.StopTask();
    }

    /// <summary>A progress display in the CLI's one style: what, bar, percentage, elapsed time; kept on screen when done.</summary>
    public static Progress Display(IAnsiConsole console) =>
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn());
}
