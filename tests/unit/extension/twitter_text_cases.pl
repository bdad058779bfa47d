#!/usr/bin/perl
# tests/unit/extension/twitter_text_cases.pl — turn the twitter-text
# conformance data into the TSV that test_xtext.c reads.
#
#   perl twitter_text_cases.pl tests/fixtures/twitter-text > cases.tsv
#
# One line per configuration file, then one per weighted-length case:
#   config <name> <max> <scale> <default weight> <url length> <emoji 0|1> <start-end:weight,...>
#   case <config> <section> <n> <text as UTF-8 hex> <weightedLength> <valid 0|1>
#        <permillage> <displayRangeStart> <displayRangeEnd> <validRangeStart>
#        <validRangeEnd> <description>
# (tab-separated, on one line).  The text is hex so that any character,
# tabs and newlines included, survives.
use strict;
use warnings;
use JSON::PP ();
use YAML::XS ();

my $dir = shift @ARGV or die "usage: $0 FIXTURE_DIR\n";

# Which configuration each section is counted with (as twitter-text's own
# conformance tests do; the directional-marker cases count the same in both).
my @sections = (
	[ WeightedTweetsCounterTest => 'v2' ],
	[ WeightedTweetsWithDiscountedEmojiCounterTest => 'v3' ],
	[ UnicodeDirectionalMarkerCounterTest => 'v3' ],
);

binmode STDOUT;
for my $name (qw(v2 v3)) {
	open(my $fh, '<:raw', "$dir/config-$name.json") or die "$dir/config-$name.json: $!\n";
	my $c = JSON::PP::decode_json(do { local $/; <$fh> });
	my $ranges = join ',', map { "$_->{start}-$_->{end}:$_->{weight}" } @{ $c->{ranges} };
	print join("\t", 'config', $name, @$c{qw(maxWeightedTweetLength scale defaultWeight
		transformedURLLength)}, $c->{emojiParsingEnabled} ? 1 : 0, $ranges), "\n";
}

my $yaml = YAML::XS::LoadFile("$dir/validate.yml");
for my $s (@sections) {
	my ($section, $config) = @$s;
	my $cases = $yaml->{tests}{$section} or die "validate.yml: no section $section\n";
	my $i = 0;
	for my $c (@$cases) {
		my $e = $c->{expected};
		my $text = $c->{text};
		utf8::encode($text);
		(my $description = $c->{description}) =~ s/\s+/ /g;
		utf8::encode($description);
		print join("\t", 'case', $config, $section, ++$i, unpack('H*', $text),
			@$e{qw(weightedLength)}, $e->{valid} ? 1 : 0,
			@$e{qw(permillage displayRangeStart displayRangeEnd validRangeStart validRangeEnd)},
			$description), "\n";
	}
}
