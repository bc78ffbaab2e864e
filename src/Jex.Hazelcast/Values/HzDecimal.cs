using System.Globalization;
using System.Numerics;
using System.Text;

namespace Jex.Hazelcast.Values;

/// <summary>
/// Hazelcast's DECIMAL (Java <c>BigDecimal</c>): an unscaled integer of any size and a scale,
/// value = unscaled × 10^-scale. Kept exact; .NET <see cref="decimal"/> cannot hold every value.
/// </summary>
internal readonly record struct HzDecimal(BigInteger Unscaled, int Scale)
{
    /// <summary>Plain notation, as Java's <c>toPlainString</c>: no exponent, trailing zeros of the scale kept.</summary>
    public override string ToString()
    {
        string digits = BigInteger.Abs(Unscaled).ToString(CultureInfo.InvariantCulture);
        var sb = new StringBuilder(digits.Length + 4);
        if (Unscaled.Sign < 0)
        {
            sb.Append('-');
        }

        if (Scale <= 0)
        {
            sb.Append(digits);
            if (Unscaled.Sign != 0)
            {
                sb.Append('0', -Scale);
            }

            return sb.ToString();
        }

        if (digits.Length > Scale)
        {
            sb.Append(digits, 0, digits.Length - Scale).Append('.').Append(digits, digits.Length - Scale, Scale);
        }
        else
        {
            sb.Append("0.").Append('0', Scale - digits.Length).Append(digits);
        }

        return sb.ToString();
    }

    /// <summary>Parses plain notation (<c>-12345.678</c>); the scale is the number of fraction digits.</summary>
    public static bool TryParse(string text, out HzDecimal value)
    {
        value = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        int dot = text.IndexOf('.', StringComparison.Ordinal);
        string integral = dot < 0 ? text : text[..dot];
        string fraction = dot < 0 ? string.Empty : text[(dot + 1)..];
        if ((dot >= 0 && fraction.Length == 0) || !fraction.All(char.IsAsciiDigit))
        {
            return false;
        }

        string sign = integral.StartsWith('-') || integral.StartsWith('+') ? integral[..1] : string.Empty;
        string intDigits = integral[sign.Length..];
        if (intDigits.Length == 0 || !intDigits.All(char.IsAsciiDigit))
        {
            return false;
        }

        var unscaled = BigInteger.Parse(intDigits + fraction, NumberStyles.None, CultureInfo.InvariantCulture);
        value = new HzDecimal(sign == "-" ? -unscaled : unscaled, fraction.Length);
        return true;
    }
}
