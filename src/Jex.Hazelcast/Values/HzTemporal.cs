using System.Globalization;
using System.Text.RegularExpressions;

namespace Jex.Hazelcast.Values;

/// <summary>Hazelcast's DATE (Java <c>LocalDate</c>): year, month 1-12, day 1-31.</summary>
internal readonly record struct HzLocalDate(int Year, byte Month, byte Day)
{
    /// <summary><c>yyyy-MM-dd</c>; years outside 0000-9999 carry a sign, as in Java.</summary>
    public override string ToString()
    {
        string year = Year switch
        {
            < 0 => "-" + (-(long)Year).ToString("D4", CultureInfo.InvariantCulture),
            > 9999 => "+" + Year.ToString(CultureInfo.InvariantCulture),
            _ => Year.ToString("D4", CultureInfo.InvariantCulture),
        };
        return string.Create(CultureInfo.InvariantCulture, $"{year}-{Month:D2}-{Day:D2}");
    }

    public DateOnly ToDateOnly() => new(Year, Month, Day);

    public static HzLocalDate From(DateOnly d) => new(d.Year, (byte)d.Month, (byte)d.Day);
}

/// <summary>Hazelcast's TIME (Java <c>LocalTime</c>): hour, minute, second, nanosecond.</summary>
internal readonly record struct HzLocalTime(byte Hour, byte Minute, byte Second, int Nano)
{
    /// <summary><c>HH:mm:ss</c>, with a fraction only when non-zero and without trailing zeros.</summary>
    public override string ToString()
    {
        string text = string.Create(CultureInfo.InvariantCulture, $"{Hour:D2}:{Minute:D2}:{Second:D2}");
        if (Nano == 0)
        {
            return text;
        }

        return text + "." + Nano.ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0');
    }

    public TimeOnly ToTimeOnly() => new TimeOnly(Hour, Minute, Second).Add(TimeSpan.FromTicks(Nano / 100));

    public static HzLocalTime From(TimeOnly t) =>
        new((byte)t.Hour, (byte)t.Minute, (byte)t.Second, (int)(t.Ticks % TimeSpan.TicksPerSecond) * 100);
}

/// <summary>Hazelcast's TIMESTAMP (Java <c>LocalDateTime</c>).</summary>
internal readonly record struct HzLocalDateTime(HzLocalDate Date, HzLocalTime Time)
{
    public override string ToString() => Date + "T" + Time;

    public DateTime ToDateTime() => Date.ToDateOnly().ToDateTime(Time.ToTimeOnly(), DateTimeKind.Unspecified);

    public static HzLocalDateTime From(DateTime d) =>
        new(HzLocalDate.From(DateOnly.FromDateTime(d)), HzLocalTime.From(TimeOnly.FromDateTime(d)));
}

/// <summary>Hazelcast's TIMESTAMP_WITH_TIMEZONE (Java <c>OffsetDateTime</c>): a local date-time and an offset in seconds.</summary>
internal readonly record struct HzOffsetDateTime(HzLocalDateTime DateTime, int OffsetSeconds)
{
    /// <summary>The date-time followed by <c>+hh:mm</c> (or <c>+hh:mm:ss</c> when the offset has seconds).</summary>
    public override string ToString()
    {
        int abs = Math.Abs(OffsetSeconds);
        string offset = string.Create(CultureInfo.InvariantCulture, $"{(OffsetSeconds < 0 ? '-' : '+')}{abs / 3600:D2}:{abs / 60 % 60:D2}");
        if (abs % 60 != 0)
        {
            offset += string.Create(CultureInfo.InvariantCulture, $":{abs % 60:D2}");
        }

        return DateTime + offset;
    }

    public DateTimeOffset ToDateTimeOffset() =>
        new(DateTime.ToDateTime(), TimeSpan.FromSeconds(OffsetSeconds));

    public static HzOffsetDateTime From(DateTimeOffset d) =>
        new(HzLocalDateTime.From(d.DateTime), (int)d.Offset.TotalSeconds);
}

/// <summary>Parses the text forms the CLI prints back into the temporal values.</summary>
internal static partial class HzTemporalParser
{
    [GeneratedRegex(@"^([+-]?\d{4,10})-(\d{2})-(\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex DateRegex();

    [GeneratedRegex(@"^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex TimeRegex();

    [GeneratedRegex(@"^(.+)T(\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)([+-]\d{2}:\d{2}(?::\d{2})?|Z)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DateTimeRegex();

    public static bool TryParseDate(string text, out HzLocalDate value)
    {
        value = default;
        var m = DateRegex().Match(text);
        if (!m.Success || !int.TryParse(m.Groups[1].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int year))
        {
            return false;
        }

        int month = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        int day = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        if (month is < 1 or > 12 || day is < 1 or > 31)
        {
            return false;
        }

        value = new HzLocalDate(year, (byte)month, (byte)day);
        return true;
    }

    public static bool TryParseTime(string text, out HzLocalTime value)
    {
        value = default;
        var m = TimeRegex().Match(text);
        if (!m.Success)
        {
            return false;
        }

        int h = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        int min = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        int s = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        int nano = m.Groups[4].Success ? int.Parse(m.Groups[4].Value.PadRight(9, '0'), CultureInfo.InvariantCulture) : 0;
        if (h > 23 || min > 59 || s > 59)
        {
            return false;
        }

        value = new HzLocalTime((byte)h, (byte)min, (byte)s, nano);
        return true;
    }

    public static bool TryParseDateTime(string text, out HzLocalDateTime value)
    {
        value = default;
        var m = DateTimeRegex().Match(text);
        if (!m.Success || m.Groups[3].Success)
        {
            return false;
        }

        if (!TryParseDate(m.Groups[1].Value, out var date) || !TryParseTime(m.Groups[2].Value, out var time))
        {
            return false;
        }

        value = new HzLocalDateTime(date, time);
        return true;
    }

    public static bool TryParseOffsetDateTime(string text, out HzOffsetDateTime value)
    {
        value = default;
        var m = DateTimeRegex().Match(text);
        if (!m.Success || !m.Groups[3].Success)
        {
            return false;
        }

        if (!TryParseDate(m.Groups[1].Value, out var date) || !TryParseTime(m.Groups[2].Value, out var time))
        {
            return false;
        }

        string offset = m.Groups[3].Value;
        int seconds = 0;
        if (offset != "Z")
        {
            int sign = offset[0] == '-' ? -1 : 1;
            var parts = offset[1..].Split(':');
            seconds = (int.Parse(parts[0], CultureInfo.InvariantCulture) * 3600) + (int.Parse(parts[1], CultureInfo.InvariantCulture) * 60)
                + (parts.Length > 2 ? int.Parse(parts[2], CultureInfo.InvariantCulture) : 0);
            seconds *= sign;
            if (Math.Abs(seconds) > 18 * 3600)
            {
                return false;
            }
        }

        value = new HzOffsetDateTime(new HzLocalDateTime(date, time), seconds);
        return true;
    }
}
