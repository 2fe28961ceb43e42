// SPDX-License-Identifier: MIT
/* vsnprintf: %d %i %u %x %X %p %s %c %% with l/ll/z, width, '-', '0', precision (or .*), %f. */
#include "minios.h"

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	if (!left && pad == '0' && n && (*s == '-')) {
		put(o, *s++); /* sign before zero padding */
		n--;
	}
	if (!left)
		while (fill-- > 0)
			put(o, pad);
	while (n--)
		put(o, *s++);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

static size_t utoa(unsigned long long v, unsigned base, bool upper, char *tmp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char rev[24];
	size_t n = 0, i = 0;

	do {
		rev[n++] = digits[v % base];
		v /= base;
	} while (v);
	while (n)
		tmp[i++] = rev[--n];
	return i;
}

static size_t ftoa(double v, int prec, char *tmp)
{
	size_t n = 0;
	unsigned long long ip, scale = 1, frac;

	if (v != v) {
		memcpy(tmp, "nan", 3);
		return 3;
	}
	if (v < 0) {
		tmp[n++] = '-';
		v = -v;
	}
	if (v > 1.8e19) {
		memcpy(tmp + n, "inf", 3);
		return n + 3;
	}
	if (prec > 9)
		prec = 9;
	for (int i = 0; i < prec; i++)
		scale *= 10;
	ip = (unsigned long long)v;
	frac = (unsigned long long)((v - (double)ip) * (double)scale + 0.5);
	if (frac >= scale) {
		ip++;
		frac -= scale;
	}
	n += utoa(ip, 10, false, tmp + n);
	if (prec > 0) {
		char f[24];
		size_t fl = utoa(frac, 10, false, f);

		tmp[n++] = '.';
		for (size_t i = fl; i < (size_t)prec; i++)
			tmp[n++] = '0';
		memcpy(tmp + n, f, fl);
		n += fl;
	}
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		char tmp[48];
		bool left = false;
		char pad = ' ';
		int width = 0, prec = -1, lng = 0;
		size_t n;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			prec = 0;
			fmt++;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			for (; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		}
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
			unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

			n = 0;
			if (v < 0)
				tmp[n++] = '-';
			n += utoa(u, 10, false, tmp + n);
			put_padded(&o, tmp, n, width, left, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long long v = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);

			n = utoa(v, *fmt == 'u' ? 10 : 16, *fmt == 'X', tmp);
			put_padded(&o, tmp, n, width, left, pad);
			break;
		}
		case 'p':
			tmp[0] = '0';
			tmp[1] = 'x';
			n = 2 + utoa((uintptr_t)va_arg(ap, void *), 16, false, tmp + 2);
			put_padded(&o, tmp, n, width, left, ' ');
			break;
		case 'f':
			n = ftoa(va_arg(ap, double), prec < 0 ? 6 : prec, tmp);
			put_padded(&o, tmp, n, width, left, pad);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);

			if (!s)
				s = "(null)";
			n = strlen(s);
			if (prec >= 0 && (size_t)prec < n)
				n = (size_t)prec;
			put_padded(&o, s, n, width, left, ' ');
			break;
		}
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			put_padded(&o, tmp, 1, width, left, ' ');
			break;
		case '%':
			put(&o, '%');
			break;
		case 0:
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
