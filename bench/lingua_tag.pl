#!/usr/bin/perl
# lingua_tag.pl - Lingua::EN::Tagger (Debian liblingua-en-tagger-perl) on gold
# tokens, for the benchmark.
#
# Reads one token per line, a blank line after each sentence; writes
# token<TAB>tag lines in the same layout, with Penn Treebank tags.
#
# Lingua::EN::Tagger has no public method that tags tokens that are already
# split: add_tags() runs its own tokenizer over a string. So this does what
# add_tags_incrementally() does after tokenizing, word for word, with the
# module's own pieces: a gold token that the module's lexicon has (as it is or
# with a lower-case first letter, as its _clean_word looks words up: 's, n't,
# --, ``) is kept whole; any other goes through the module's punctuation
# splitter (_split_punct, which also turns " into '' as its tokenizer does with
# a lone quote, and splits off brackets, commas, ...). The pieces are tagged in order by _clean_word and _assign_tag (its
# lexicon and bigram model, the state carried from piece to piece, reset at
# each sentence as add_tags does), and the gold token takes the tag of its
# first piece. The number of gold tokens split into more than one piece is
# printed on standard error as "lingua: resplit N of M tokens". Skipped from
# the tokenizer: HTML entity decoding (the tokens are plain text) and the
# splitting of sentence-final periods off words (gold tokens already are
# split, and the tag of the first piece is kept anyway).
#
# Its lower-case tag names are mapped to Penn's: det DT, pp ., ppc ,, pps :,
# ppd $, ppl ``, ppr '', lrb -LRB-, rrb -RRB-, prps PRP$, wps WP$, the rest
# upper-cased.
use strict;
use warnings;
use Lingua::EN::Tagger;

binmode STDIN, ':encoding(UTF-8)';
binmode STDOUT, ':encoding(UTF-8)';

my %MAP = (det => 'DT', pp => '.', ppc => ',', pps => ':', ppd => '$', ppl => '``',
           ppr => "''", lrb => '-LRB-', rrb => '-RRB-', prps => 'PRP$', wps => 'WP$');

my $tagger = Lingua::EN::Tagger->new(stem => 0);
my ($resplit, $total) = (0, 0);
my @sent;

sub flush_sentence {
    return unless @sent;
    $tagger->_reset;
    my $t = $tagger->{current_tag};
    my $out = '';
    for my $tok (@sent) {
        my @pieces = ($tok);
        if (!exists $Lingua::EN::Tagger::_LEXICON{$tok}
                && !exists $Lingua::EN::Tagger::_LEXICON{lcfirst $tok}) {
            @pieces = $tagger->_split_punct($tok);
            @pieces = ($tok) unless @pieces;
        }
        $resplit++ if @pieces > 1;
        $total++;
        my $first;
        for my $p (@pieces) {
            $t = $tagger->_assign_tag($t, $tagger->_clean_word($p))
                || $tagger->{unknown_word_tag} || 'nn';
            $first //= $t;
        }
        $out .= "$tok\t" . ($MAP{$first} // uc $first) . "\n";
    }
    $tagger->{current_tag} = $t;
    print $out, "\n";
    @sent = ();
}

while (my $line = <STDIN>) {
    chomp $line;
    if ($line eq '') { flush_sentence(); } else { push @sent, $line; }
}
flush_sentence();
print STDERR "lingua: resplit $resplit of $total tokens\n";
