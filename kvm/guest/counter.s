/*
 * counter.s: a 64 KiB firmware image for qemu-system-x86_64 -bios, the
 * guest that tests and demos migrate between KVM builds.  It counts timer
 * ticks, so that its progress can be read from outside while it runs and
 * after it moved:
 *
 *   - the counter is a 32-bit word in RAM at COUNTER (physical 0x1000),
 *     one more at each of HZ ticks a second of the PIT: QMP
 *     human-monitor-command "xp /1wx 0x1000" reads it;
 *   - once a second it writes "counter XXXXXXXX" (hex) to the first
 *     serial port, and once, at reset, "vac-guest: reset", so a guest that
 *     started over is seen in its serial output;
 *   - the counter is also kept in %ebx, and each tick checks that RAM
 *     still holds what the register holds: after a migration both must
 *     have come across together.  On a mismatch it prints "vac-guest:
 *     mismatch" and stops.
 *
 * Between ticks the CPU halts, so the guest costs its host (here a test
 * VM under TCG) next to nothing; the ticks go through KVM's in-kernel PIT
 * and PIC, whose state QEMU migrates with the CPU's and the RAM.
 *
 * Real mode, no BIOS services.  QEMU maps the image's 64 KiB at the top of
 * 4 GiB and at 0xf0000, where the CPU starts at f000:fff0 (offset 0xfff0
 * of the image): a far jump from there to the code at the start.  Every
 * address in the image is written (label - image), a difference the
 * assembler resolves, so objcopy turns the object into the image (no
 * linker, no relocations).
 *
 * Built by kvm/CMakeLists.txt: as --32, then objcopy -O binary.
 */
	.code16

	.set	COUNTER, 0x1000		/* physical, with %ds = 0 */
	.set	HZ, 128			/* ticks a second; a power of 2 */
	.set	PIT_HZ, 1193182		/* the PIT's input clock */
	.set	PIT, 0x40
	.set	PIC1, 0x20		/* the master 8259 */
	.set	PIC2, 0xa0		/* the slave */
	.set	MSR_APIC_BASE, 0x1b
	.set	APIC_ENABLE, 0x800
	.set	COM1, 0x3f8
	.set	LSR_THRE, 0x20		/* line status: transmitter empty */

	.text
image:
start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %ss
	mov	$0x7000, %sp
	xor	%ebx, %ebx
	movl	%ebx, COUNTER
	mov	$(banner - image), %si
	call	puts

	/*
	 * The local APIC off (IA32_APIC_BASE bit 11): out of reset it is on,
	 * with LINT0 masked, and would keep the PIC's interrupts from the
	 * CPU; off, the PIC's output is the CPU's interrupt line, as on
	 * hardware and in KVM (QEMU's own TCG APIC drops them still, so this
	 * guest counts only under KVM).
	 */
	mov	$MSR_APIC_BASE, %ecx
	rdmsr
	and	$~APIC_ENABLE, %eax
	wrmsr

	/* Vector 8 (IRQ 0 once the PIC is set up) is tick, in f000. */
	movw	$(tick - image), 8 * 4
	movw	$0xf000, 8 * 4 + 2
	/*
	 * The master 8259: ICW1 (edge, cascade, ICW4 follows), ICW2 (IRQs
	 * 0-7 are vectors 8-15), ICW3 (the slave on IRQ 2), ICW4 (8086
	 * mode); then only IRQ 0 unmasked, and the slave all masked.
	 */
	mov	$0x11, %al
	out	%al, $PIC1
	mov	$0x08, %al
	out	%al, $PIC1 + 1
	mov	$0x04, %al
	out	%al, $PIC1 + 1
	mov	$0x01, %al
	out	%al, $PIC1 + 1
	mov	$0xfe, %al
	out	%al, $PIC1 + 1
	mov	$0xff, %al
	out	%al, $PIC2 + 1
	/* PIT channel 0: lobyte/hibyte, mode 2 (rate generator), HZ a second. */
	mov	$0x34, %al
	out	%al, $PIT + 3
	mov	$(PIT_HZ / HZ) & 0xff, %al
	out	%al, $PIT
	mov	$(PIT_HZ / HZ) >> 8, %al
	out	%al, $PIT
	sti
idle:
	hlt
	jmp	idle

/* IRQ 0: one more, checked against the register copy; a line a second. */
tick:
	cmpl	COUNTER, %ebx		/* RAM and register agree */
	jne	mismatch
	inc	%ebx
	movl	%ebx, COUNTER
	test	$(HZ - 1), %ebx
	jnz	1f
	pushal
	call	print_counter
	popal
1:	push	%ax
	mov	$0x20, %al		/* end of interrupt */
	out	%al, $PIC1
	pop	%ax
	iret

mismatch:
	cli
	mov	$(bad - image), %si
	call	puts
2:	hlt
	jmp	2b

/* "counter XXXXXXXX\n" for %ebx. */
print_counter:
	mov	$(label - image), %si
	call	puts
	mov	%ebx, %edx
	mov	$8, %cx
3:	rol	$4, %edx
	mov	%dl, %al
	and	$0xf, %al
	add	$0x30, %al
	cmp	$0x39, %al
	jbe	4f
	add	$(0x61 - 0x39 - 1), %al
4:	call	putc
	loop	3b
	mov	$0x0a, %al
	call	putc
	ret

/* The NUL-terminated string at %cs:%si. */
puts:
	mov	%cs:(%si), %al
	test	%al, %al
	jz	5f
	call	putc
	inc	%si
	jmp	puts
5:	ret

/* %al to COM1 once the transmitter is empty; keeps every register. */
putc:
	push	%dx
	push	%ax
	mov	$(COM1 + 5), %dx
6:	in	%dx, %al
	test	$LSR_THRE, %al
	jz	6b
	pop	%ax
	mov	$COM1, %dx
	out	%al, %dx
	pop	%dx
	ret

banner:	.asciz	"vac-guest: reset\n"
label:	.asciz	"counter "
bad:	.asciz	"vac-guest: mismatch\n"

	.org	0xfff0			/* the reset vector, f000:fff0 */
	ljmp	$0xf000, $(start - image)
	.org	0x10000			/* 64 KiB */
