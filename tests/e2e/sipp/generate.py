#!/usr/bin/env python3
"""Writes the sipp scenario pairs of Tandem's B2BUA end-to-end tests (uac_FLOW.xml and
uas_FLOW.xml in this folder), which tests/e2e/b2bua_flow.sh runs.

The XML files are checked in; edit this file and run it (python3 generate.py) rather than the
XML, so that the blocks every flow shares (the caller's marked INVITE, the callee's checks of
what crossed the B2BUA, the Reference list sipp needs) stay the same everywhere.
"""
import os
import re

OUT = os.path.dirname(os.path.abspath(__file__))

HEAD = '''<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Tandem end-to-end test (tests/e2e/b2bua_flow.sh), flow "{flow}", {side}.
     Written by tests/e2e/sipp/generate.py: edit that and run it, not this file.
{doc}
-->
<scenario name="{side}_{flow}">
'''

def sdp(user, ver, direction, port='[media_port]'):
    return f'''
      v=0
      o={user} {ver} {ver} IN IP4 [media_ip]
      s=-
      c=IN IP4 [media_ip]
      t=0 0
      m=audio {port} RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a={direction}
'''

def send(text, retrans=False, extra_attr=''):
    r = ' retrans="500"' if retrans else ''
    return f'''  <send{r}{extra_attr}>
    <![CDATA[

{text.rstrip()}

    ]]>
  </send>
'''

def msg(lines, body=None, ctype='application/sdp'):
    out = ['      ' + l for l in lines]
    if body is not None:
        out.append(f'      Content-Type: {ctype}')
        out.append('      Content-Length: [len]')
        out.append('')
        return '\n'.join(out) + '\n' + body.rstrip('\n').lstrip('\n') + '\n'
    out.append('      Content-Length: 0')
    return '\n'.join(out) + '\n'

def recv(what, attrs='', actions=None):
    kind = 'response' if what[0].isdigit() else 'request'
    a = f' {attrs}' if attrs else ''
    if actions:
        acts = '\n'.join('      ' + x for x in actions)
        return f'''  <recv {kind}="{what}"{a}>
    <action>
{acts}
    </action>
  </recv>
'''
    return f'  <recv {kind}="{what}"{a}/>\n'

def pause(ms):
    return f'  <pause milliseconds="{ms}"/>\n'

# ---------------- caller (UAC) pieces ----------------
UAC_FROM = 'From: "Alice" <sip:alice@client.example>;tag=mark-[pid]-[call_number]'
UAC_CONTACT = 'Contact: <sip:mark-contact@[local_ip]:[local_port]>'

def uac_invite(extra=(), direction='sendrecv', mf=70):
    lines = ['INVITE sip:bob@[remote_ip]:[remote_port] SIP/2.0',
             'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]',
             UAC_FROM, 'To: <sip:bob@server.example>', 'Call-ID: [call_id]', 'CSeq: 1 INVITE',
             UAC_CONTACT, f'Max-Forwards: {mf}'] + list(extra)
    return send(msg(lines, sdp('alice', 1, direction)), retrans=True)

def uac_req(method, cseq, extra=(), body=None, ctype='application/sdp', to='To:[$peer_to]', retrans=True, txn=None):
    lines = [f'{method} [next_url] SIP/2.0',
             'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]', '[routes]',
             UAC_FROM, to, 'Call-ID: [call_id]', f'CSeq: {cseq} {method}', UAC_CONTACT,
             'Max-Forwards: 70'] + list(extra)
    t = f' start_txn="{txn}"' if txn else ''
    return send(msg(lines, body, ctype), retrans=retrans and method != 'ACK', extra_attr=t)

def uac_ack(cseq=1):
    return uac_req('ACK', cseq, retrans=False)

def uac_ack_non2xx(back):
    lines = ['ACK sip:bob@[remote_ip]:[remote_port] SIP/2.0',
             f'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-{back}]',
             UAC_FROM, '[last_To:]', 'Call-ID: [call_id]', 'CSeq: 1 ACK', 'Max-Forwards: 70']
    return send(msg(lines))

def uac_cancel(back):
    lines = ['CANCEL sip:bob@[remote_ip]:[remote_port] SIP/2.0',
             f'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-{back}]',
             UAC_FROM, 'To: <sip:bob@server.example>', 'Call-ID: [call_id]', 'CSeq: 1 CANCEL',
             'Max-Forwards: 70']
    return send(msg(lines), retrans=True)

CAPTURE_PEER_TO = '<ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="peer_to"/>'

def reply_current(code='200', reason='OK', body=None, ctype='application/sdp', contact=None, extra=()):
    lines = [f'SIP/2.0 {code} {reason}', '[last_Via:]', '[last_From:]', '[last_To:]',
             '[last_Call-ID:]', '[last_CSeq:]'] + ([contact] if contact else []) + list(extra)
    return send(msg(lines, body, ctype))

# ---------------- callee (UAS) pieces ----------------
UAS_CONTACT = 'Contact: <sip:bob@[local_ip]:[local_port]>'
UAS_TAG = '[pid]-[call_number]'

def uas_invite(extra_actions=()):
    acts = [
        '<!-- What every answer to the INVITE needs after other requests came in between. -->',
        '<ereg regexp="Via:[^[:cntrl:]]*([[:cntrl:]]+Via:[^[:cntrl:]]*)*" search_in="msg" check_it="true" assign_to="vias,vias_rest"/>',
        '<ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="inv_from"/>',
        '<ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="inv_to"/>',
        '<ereg regexp=".*" search_in="hdr" header="CSeq:" check_it="true" assign_to="inv_cseq"/>',
        '<ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" check_it="true" assign_to="inv_cseq_n"/>',
        '<ereg regexp="branch=[^;,[:space:]]+" search_in="hdr" header="Via:" check_it="true" assign_to="inv_branch"/>',
        '<ereg regexp="^.*$" search_in="msg" assign_to="whole"/>',
        '<ereg regexp=".*" search_in="hdr" header="Call-ID:" check_it="true" assign_to="cid"/>',
        '<ereg regexp="[0-9]+" search_in="hdr" header="Max-Forwards:" check_it="true" assign_to="mf"/>',
        '<strcmp assign_to="mode_cmp" variable="mode" value="b2bua"/>',
        '<test assign_to="b2bua" variable="mode_cmp" compare="equal" value="0"/>',
        '<!-- Max-Forwards: the caller sent 70; through the B2BUA it is 69 (mf_want). sipp',
        '     compares no two variables: join them and test the join with a back-reference. -->',
        '<assignstr assign_to="mf_pair" value="[$mf]|[$mf_want]"/>',
        '<ereg regexp="^([0-9]+)[|]\\1$" search_in="var" variable="mf_pair" check_it="true" assign_to="chk_mf,chk_mf_g"/>',
        '<!-- The caller marks its Call-ID, From tag and Contact with "mark-" (forbid): none of',
        '     them crosses the B2BUA. The Call-ID first, then anywhere in the message. -->',
        '<assignstr assign_to="cid_pair" value="[$cid]|[$forbid]"/>',
        '<ereg regexp="^[^|]*([^|]+)[^|]*[|]\\1$" search_in="var" variable="cid_pair" check_it_inverse="true" assign_to="chk_cid,chk_cid_g"/>',
        '<!-- (The token has no "|"; the message may: the group lies before the last "|".) -->',
        '<assignstr assign_to="mark_pair" value="[$whole]|[$forbid]"/>',
        '<ereg regexp="^.*([^|]+).*[|]\\1$" search_in="var" variable="mark_pair" check_it_inverse="true" assign_to="chk_mark,chk_mark_g"/>',
        '<!-- The caller\'s host:port (uac_hp) is in no Via, and nowhere else either (Contact,',
        '     Record-Route). -->',
        '<assignstr assign_to="via_pair" value="[$vias]|[$uac_hp]"/>',
        '<ereg regexp="^[^|]*([^|]+)[^|]*[|]\\1$" search_in="var" variable="via_pair" check_it_inverse="true" assign_to="chk_via,chk_via_g"/>',
        '<assignstr assign_to="hp_pair" value="[$whole]|[$uac_hp]"/>',
        '<ereg regexp="^.*([^|]+).*[|]\\1$" search_in="var" variable="hp_pair" check_it_inverse="true" assign_to="chk_hp,chk_hp_g"/>',
    ] + list(extra_actions)
    return ('''  <!-- Globals, set by the runner with -set: mode (b2bua or direct), mf_want (69 through
       the B2BUA, 70 direct), forbid ("mark-" through the B2BUA) and uac_hp (the caller's
       127.0.0.1:port through the B2BUA). Direct (sipp to sipp) sets forbid and uac_hp to
       tokens that never occur, which switches the B2BUA-only checks off. -->
  <Global variables="mode,mf_want,forbid,uac_hp"/>
''' + recv('INVITE', 'rrs="true"', acts))

def uas_inv_reply(code, reason, body=None, tag=UAS_TAG, extra=(), retrans=False, contact=True):
    lines = [f'SIP/2.0 {code} {reason}', '[$vias]', 'From:[$inv_from]', f'To:[$inv_to];tag={tag}',
             '[last_Call-ID:]', 'CSeq:[$inv_cseq]'] + ([UAS_CONTACT] if contact else []) + list(extra)
    return send(msg(lines, body), retrans=retrans)

def uas_req(method, cseq, body=None, ctype='application/sdp', extra=(), retrans=True):
    lines = [f'{method} [next_url] SIP/2.0',
             'Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]', '[routes]',
             f'From:[$inv_to];tag={UAS_TAG}', 'To:[$inv_from]', '[last_Call-ID:]',
             f'CSeq: {cseq} {method}', UAS_CONTACT, 'Max-Forwards: 70'] + list(extra)
    return send(msg(lines, body, ctype), retrans=retrans and method != 'ACK')

def branch_check(name):
    # A CANCEL, and the ACK for a non-2xx answer, carry the INVITE's branch (RFC 3261 9.1, 17.1.1.3).
    return [f'<ereg regexp="branch=[^;,[:space:]]+" search_in="hdr" header="Via:" check_it="true" assign_to="{name}_branch"/>',
            f'<assignstr assign_to="{name}_pair" value="[$inv_branch]|[${name}_branch]"/>',
            f'<ereg regexp="^([^|]+)[|]\\1$" search_in="var" variable="{name}_pair" check_it="true" assign_to="chk_{name},chk_{name}_g"/>']

def in_msg(regexp, name, inverse=False):
    c = 'check_it_inverse' if inverse else 'check_it'
    return f'<ereg regexp="{regexp}" search_in="msg" {c}="true" assign_to="{name}"/>'

def body_has(regexp, name):
    return f'<ereg regexp="{regexp}" search_in="body" check_it="true" assign_to="{name}"/>'

def ci(word):
    return ''.join(f'[{c.upper()}{c.lower()}]' if c.isalpha() else c for c in word)

def finish(text):
    names = set(re.findall(r'\[\$([A-Za-z0-9_]+)\]', text))
    for m in re.findall(r'assign_to="([^"]+)"', text):
        names.update(m.split(','))
    names.update(re.findall(r'variable="([A-Za-z0-9_]+)"', text))
    names.update(re.findall(r'condexec="([A-Za-z0-9_]+)"', text))
    g = re.search(r'<Global variables="([^"]+)"', text)
    if g:
        names.update(g.group(1).split(','))
    if names:
        text += '  <!-- sipp refuses a variable used only once: every variable is listed here. -->\n'
        text += f'  <Reference variables="{",".join(sorted(names))}"/>\n'
    return text + '</scenario>\n'

def write(flow, side, doc, body):
    text = HEAD.format(flow=flow, side=side, doc=doc) + body
    with open(os.path.join(OUT, f'{side}_{flow}.xml'), 'w') as f:
        f.write(finish(text))

FLOWS = {}
def flow(fn):
    FLOWS[fn.__name__] = fn
    return fn

RING = [recv('100', 'optional="true"'), recv('180', 'optional="true"')]
SDP_B = sdp('bob', 1, 'sendrecv')

def uac_answered(extra_invite=()):
    return (uac_invite(extra_invite) + ''.join(RING) +
            recv('200', 'rrs="true"', [CAPTURE_PEER_TO, body_has('m=audio', 'chk_sdp200')]) + uac_ack())

def uas_answer(extra_actions=()):
    return (uas_invite(extra_actions) + uas_inv_reply('180', 'Ringing') +
            uas_inv_reply('200', 'OK', SDP_B, retrans=True))

def uas_bye_and_end():
    return recv('BYE') + reply_current() + pause(4000)

# The BYE's 200 is matched by transaction: sipp 3.6 would otherwise take a retransmitted 200 to
# the INVITE (its ACK lost) for the BYE's 200 and end the call while the callee waits.
def uac_bye_and_end(cseq=2):
    return uac_req('BYE', cseq, txn='bye') + recv('200', 'response_txn="bye"') + pause(4000)

@flow
def basic_caller_bye():
    d = 'Basic call: INVITE, 180, 200, ACK, then the caller hangs up (BYE, 200).'
    write('basic_caller_bye', 'uac', d, uac_answered() + pause(200) + uac_bye_and_end())
    write('basic_caller_bye', 'uas', d + '\nThe ACK is optional before the BYE: under loss it may be lost (the loss flows use this pair).',
          uas_answer() + recv('ACK', 'optional="true"') + uas_bye_and_end())

@flow
def basic_callee_bye():
    d = 'Basic call, the callee hangs up: the UAS sends the BYE and the caller answers it.'
    write('basic_callee_bye', 'uac', d, uac_answered() + recv('BYE') + reply_current() + pause(4000))
    write('basic_callee_bye', 'uas', d, uas_answer() + recv('ACK') + pause(200) +
          uas_req('BYE', 1) + recv('200') + pause(1000))

@flow
def cancel():
    d = ('CANCEL before answer: the caller cancels after the 180; the callee answers the CANCEL\n'
         'with 200 and the INVITE with 487 (keeping the INVITE\'s Via lines), then takes the ACK.\n'
         'The callee checks that the CANCEL and the ACK carry the INVITE\'s branch.')
    # INVITE 0, 100 1, 180 2, CANCEL 3 -> branch-3; 200 4, 487 5, ACK 6 -> branch-6
    write('cancel', 'uac', d, uac_invite() + recv('100', 'optional="true"') + recv('180') +
          uac_cancel(3) + recv('200') + recv('487') + uac_ack_non2xx(6) + pause(4000))
    write('cancel', 'uas', d, uas_invite() + uas_inv_reply('180', 'Ringing') +
          recv('CANCEL', '', branch_check('cancel')) + reply_current() +
          uas_inv_reply('487', 'Request Terminated', retrans=True, contact=False) +
          recv('ACK', '', branch_check('ack')) + pause(1000))

@flow
def busy_486():
    d = 'Busy: the callee answers 486; the caller gets 486 and sends the ACK (INVITE\'s branch).'
    # INVITE 0, 100 1, 180 2, 486 3, ACK 4 -> branch-4
    write('busy_486', 'uac', d, uac_invite() + ''.join(RING) + recv('486') + uac_ack_non2xx(4) +
          pause(2000))
    write('busy_486', 'uas', d, uas_invite() + uas_inv_reply('486', 'Busy Here', retrans=True, contact=False) +
          recv('ACK', '', branch_check('ack')) + pause(1000))

@flow
def no_answer():
    d = ('No answer: the callee rings and never answers. Through the B2BUA, after\n'
         '[limits] ring_timeout_s (the runner sets 2 s) Tandem cancels the callee leg (the callee\n'
         'answers 200 and 487) and gives the caller 408 or 480. Direct (sipp to sipp), the callee\n'
         'plays that part itself: it answers 480 right after the 180.')
    # INVITE 0, 100 1, 180 2, 408 3, 480 4, ACK 5 -> branch-5 (a label is no message)
    write('no_answer', 'uac', d, uac_invite() + ''.join(RING) +
          recv('408', 'optional="true" next="final"') + recv('480') + '  <label id="final"/>\n' +
          uac_ack_non2xx(5) + pause(2000))
    write('no_answer', 'uas', d, uas_invite() + uas_inv_reply('180', 'Ringing') +
          '  <!-- Through the B2BUA: Tandem gives up on the callee after the ring timeout. -->\n' +
          recv('CANCEL', 'condexec="b2bua"', branch_check('cancel')) +
          reply_current().replace('<send>', '<send condexec="b2bua">') +
          uas_inv_reply('487', 'Request Terminated', retrans=True, contact=False).replace(
              '<send retrans="500">', '<send retrans="500" condexec="b2bua">') +
          recv('ACK', 'condexec="b2bua"', branch_check('ack')) +
          '  <!-- Direct: the callee stands in for the ring timeout. Each mode has its own ACK: a\n'
          '       message that arrives while sipp stands on a step whose condexec is false is\n'
          '       unexpected, so no skipped step may sit between an answer and its ACK. -->\n' +
          uas_inv_reply('480', 'Temporarily Unavailable', retrans=True, contact=False).replace(
              '<send retrans="500">', '<send retrans="500" condexec="b2bua" condexec_inverse="true">') +
          recv('ACK', 'condexec="b2bua" condexec_inverse="true"', branch_check('ack')) + pause(1000))


def rseq_capture(name):
    return [f'<ereg regexp="100rel" search_in="hdr" header="Require:" check_it="true" assign_to="chk_{name}_req"/>',
            f'<ereg regexp="[0-9]+" search_in="hdr" header="RSeq:" check_it="true" assign_to="{name}"/>']

def rack_check(rseq, name):
    return [f'<ereg regexp="[0-9]+ +[0-9]+ +INVITE" search_in="hdr" header="RAck:" check_it="true" assign_to="{name}"/>',
            f'<assignstr assign_to="{name}_pair" value="[${name}]|{rseq} [$inv_cseq_n] INVITE"/>',
            f'<ereg regexp="^([0-9]+) +([0-9]+) +INVITE[|]\\1 \\2 INVITE$" search_in="var" variable="{name}_pair" check_it="true" assign_to="chk_{name},chk_{name}_1,chk_{name}_2"/>']

UAC_100REL = ['Supported: 100rel', 'Allow: INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, INFO']

# PRACK, UPDATE, INFO and BYE answers are matched by transaction (start_txn/response_txn), so
# that no 200 to another request (a retransmitted one, or one overtaken through the B2BUA) can
# stand in for them.
def uac_prack(cseq, rseq_var):
    return uac_req('PRACK', cseq, [f'RAck: [${rseq_var}] 1 INVITE'], to='[last_To:]',
                   txn=f'prack{cseq}')

@flow
def prack_100rel():
    d = ('180 then 183 with SDP, both reliable (Require: 100rel, RSeq), each PRACKed (RAck) on\n'
         'both legs, then 200, ACK, caller BYE. The callee checks that the INVITE offers 100rel and\n'
         'that each RAck names its RSeq and the INVITE\'s CSeq; the caller checks Require and that\n'
         'the 183\'s RSeq is the 180\'s plus one (RFC 3262 s3).')
    write('prack_100rel', 'uac', d, uac_invite(UAC_100REL) + recv('100', 'optional="true"') +
          recv('180', 'rrs="true"', rseq_capture('rseq1')) + uac_prack(2, 'rseq1') + recv('200', 'response_txn="prack2"') +
          recv('183', 'rrs="true"', rseq_capture('rseq2') + [
              '<ereg regexp="application/sdp" search_in="hdr" header="Content-Type:" check_it="true" assign_to="chk_ctype"/>',
              body_has('m=audio', 'chk_sdp183'),
              '<!-- RSeq of the 183 is one more than the 180\'s. -->',
              '<todouble assign_to="rseq_next" variable="rseq1"/>',
              '<add assign_to="rseq_next" value="1"/>',
              '<todouble assign_to="rseq2_n" variable="rseq2"/>',
              '<assignstr assign_to="rseq_pair" value="[$rseq_next]|[$rseq2_n]"/>',
              '<ereg regexp="^([^|]+)[|]\\1$" search_in="var" variable="rseq_pair" check_it="true" assign_to="chk_rseq,chk_rseq_g"/>']) +
          uac_prack(3, 'rseq2') + recv('200', 'response_txn="prack3"') +
          recv('200', 'rrs="true"', [CAPTURE_PEER_TO]) + uac_ack() + pause(200) + uac_bye_and_end(4))
    write('prack_100rel', 'uas', d, uas_invite([
              '<ereg regexp="100rel" search_in="hdr" header="Supported:" check_it="true" assign_to="chk_supported"/>']) +
          uas_inv_reply('180', 'Ringing', extra=['Require: 100rel', 'RSeq: 4711'], retrans=True) +
          recv('PRACK', '', rack_check(4711, 'rack1')) + reply_current() +
          uas_inv_reply('183', 'Session Progress', SDP_B, extra=['Require: 100rel', 'RSeq: 4712'], retrans=True) +
          recv('PRACK', '', rack_check(4712, 'rack2')) + reply_current() +
          uas_inv_reply('200', 'OK', retrans=True) + recv('ACK') + uas_bye_and_end())

@flow
def fork_183():
    d = ('Two forked early dialogs: the callee sends two 183s with SDP and different To-tags,\n'
         'then answers 200 with the first tag. The caller must see two different To-tags, and the\n'
         '200 with the tag of the first 183.')
    tagcap = lambda n: [f'<ereg regexp="tag=([^;,[:space:]]+)" search_in="hdr" header="To:" check_it="true" assign_to="{n}_all,{n}"/>']
    write('fork_183', 'uac', d, uac_invite() + recv('100', 'optional="true"') +
          recv('183', '', tagcap('tag1') + [body_has('m=audio', 'chk_sdp1')]) +
          recv('183', '', tagcap('tag2') + [body_has('m=audio', 'chk_sdp2'),
              '<assignstr assign_to="tags" value="[$tag1]|[$tag2]"/>',
              '<ereg regexp="^([^|]*)[|]\\1$" search_in="var" variable="tags" check_it_inverse="true" assign_to="chk_differ,chk_differ_g"/>']) +
          recv('200', 'rrs="true"', [CAPTURE_PEER_TO] + tagcap('tag3') + [
              '<assignstr assign_to="tags13" value="[$tag1]|[$tag3]"/>',
              '<ereg regexp="^([^|]*)[|]\\1$" search_in="var" variable="tags13" check_it="true" assign_to="chk_same,chk_same_g"/>']) +
          uac_ack() + pause(200) + uac_bye_and_end())
    write('fork_183', 'uas', d, uas_invite() +
          uas_inv_reply('183', 'Session Progress', SDP_B, tag=UAS_TAG + '-fork-a') +
          uas_inv_reply('183', 'Session Progress', sdp('bob2', 1, 'sendrecv'), tag=UAS_TAG + '-fork-b') +
          pause(300) + uas_inv_reply('200', 'OK', SDP_B, tag=UAS_TAG + '-fork-a', retrans=True) +
          recv('ACK') + uas_bye_and_end())

def sdp_dir_check(direction, name):
    return body_has(f'a={direction}', name)

@flow
def hold_caller():
    d = ('Hold and unhold from the caller: re-INVITE with a=sendonly answered a=recvonly, then\n'
         're-INVITE with a=sendrecv answered a=sendrecv; then the caller hangs up.')
    write('hold_caller', 'uac', d, uac_answered() + pause(200) +
          uac_req('INVITE', 2, body=sdp('alice', 2, 'sendonly')) + recv('100', 'optional="true"') +
          recv('200', '', [sdp_dir_check('recvonly', 'chk_recvonly')]) + uac_ack(2) + pause(200) +
          uac_req('INVITE', 3, body=sdp('alice', 3, 'sendrecv')) + recv('100', 'optional="true"') +
          recv('200', '', [sdp_dir_check('sendrecv', 'chk_sendrecv')]) + uac_ack(3) + pause(200) +
          uac_bye_and_end(4))
    write('hold_caller', 'uas', d, uas_answer() + recv('ACK') +
          recv('INVITE', '', [sdp_dir_check('sendonly', 'chk_sendonly')]) +
          reply_current(body=sdp('bob', 2, 'recvonly'), contact=UAS_CONTACT) + recv('ACK') +
          recv('INVITE', '', [sdp_dir_check('sendrecv', 'chk_sendrecv')]) +
          reply_current(body=sdp('bob', 3, 'sendrecv'), contact=UAS_CONTACT) + recv('ACK') +
          uas_bye_and_end())

@flow
def hold_callee():
    d = ('Hold and unhold from the callee: the callee sends a re-INVITE with a=sendonly (answered\n'
         'a=recvonly), then a=sendrecv (answered a=sendrecv); then the caller hangs up.')
    write('hold_callee', 'uac', d, uac_answered() +
          recv('INVITE', '', [sdp_dir_check('sendonly', 'chk_sendonly')]) +
          reply_current(body=sdp('alice', 2, 'recvonly'), contact=UAC_CONTACT) + recv('ACK') +
          recv('INVITE', '', [sdp_dir_check('sendrecv', 'chk_sendrecv')]) +
          reply_current(body=sdp('alice', 3, 'sendrecv'), contact=UAC_CONTACT) + recv('ACK') +
          pause(200) + uac_bye_and_end(2))
    write('hold_callee', 'uas', d, uas_answer() + recv('ACK') + pause(200) +
          uas_req('INVITE', 1, body=sdp('bob', 2, 'sendonly')) + recv('100', 'optional="true"') +
          recv('200', '', [sdp_dir_check('recvonly', 'chk_recvonly')]) + uas_req('ACK', 1) +
          pause(200) +
          uas_req('INVITE', 2, body=sdp('bob', 3, 'sendrecv')) + recv('100', 'optional="true"') +
          recv('200', '', [sdp_dir_check('sendrecv', 'chk_sendrecv2')]) + uas_req('ACK', 2) +
          uas_bye_and_end())

@flow
def update_early():
    d = ('UPDATE in the early dialog (RFC 3311): the callee sends a reliable 183 with SDP, the\n'
         'caller PRACKs it, then sends an UPDATE with a new offer (a=sendonly) that the callee\n'
         'answers (a=recvonly) before the 200 to the INVITE; then the caller hangs up.')
    write('update_early', 'uac', d, uac_invite(UAC_100REL) + recv('100', 'optional="true"') +
          recv('183', 'rrs="true"', rseq_capture('rseq1') + [body_has('m=audio', 'chk_sdp183'),
               '<ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="early_to"/>']) +
          uac_prack(2, 'rseq1') + recv('200', 'response_txn="prack2"') +
          uac_req('UPDATE', 3, body=sdp('alice', 2, 'sendonly'), to='To:[$early_to]', txn='update') +
          recv('200', 'response_txn="update"', [sdp_dir_check('recvonly', 'chk_recvonly')]) +
          recv('200', 'rrs="true"', [CAPTURE_PEER_TO]) + uac_ack() + pause(200) + uac_bye_and_end(4))
    write('update_early', 'uas', d, uas_invite([
              '<ereg regexp="100rel" search_in="hdr" header="Supported:" check_it="true" assign_to="chk_supported"/>']) +
          uas_inv_reply('183', 'Session Progress', SDP_B, extra=['Require: 100rel', 'RSeq: 1'], retrans=True) +
          recv('PRACK', '', rack_check(1, 'rack1')) + reply_current() +
          recv('UPDATE', '', [sdp_dir_check('sendonly', 'chk_sendonly')]) +
          reply_current(body=sdp('bob', 2, 'recvonly'), contact=UAS_CONTACT) +
          uas_inv_reply('200', 'OK', retrans=True) + recv('ACK') + uas_bye_and_end())

@flow
def info():
    d = 'INFO in the dialog: the caller sends DTMF as application/dtmf-relay; the callee checks it.'
    write('info', 'uac', d, uac_answered() + pause(200) +
          uac_req('INFO', 2, body='      Signal=5\n      Duration=160\n', ctype='application/dtmf-relay',
                  txn='info') +
          recv('200', 'response_txn="info"') + pause(200) + uac_bye_and_end(3))
    write('info', 'uas', d, uas_answer() + recv('ACK') +
          recv('INFO', '', ['<ereg regexp="application/dtmf-relay" search_in="hdr" header="Content-Type:" check_it="true" assign_to="chk_ctype"/>',
                            body_has('Signal=5', 'chk_signal')]) + reply_current() +
          uas_bye_and_end())

@flow
def header_policy():
    d = ('Header policy (config/policies/default.toml): X-Tandem-Pass passes, X-Secret-Internal\n'
         'does not, and a Record-Route the caller sends (marked "mark-") never crosses. Direct\n'
         '(sipp to sipp) the callee checks the opposite for X-Secret-Internal.')
    write('header_policy', 'uac', d, uac_answered(['X-Tandem-Pass: yes', 'X-Secret-Internal: no',
                                                    'Record-Route: <sip:mark-rr.client.example;lr>']) +
          pause(200) + uac_bye_and_end())
    write('header_policy', 'uas', d, uas_answer([
        in_msg(f'[[:cntrl:]]{ci("X-Tandem-Pass")}: *yes[[:cntrl:]]', 'chk_pass'),
        f'<ereg regexp="[[:cntrl:]]{ci("X-Secret-Internal")}:[^[:cntrl:]]*" search_in="msg" assign_to="secret"/>',
        '<!-- through the B2BUA the header must be absent, direct it must be present -->',
        '<assignstr assign_to="secret_pair" value="[$mode]|[$secret]"/>',
        '<ereg regexp="^(b2bua[|].+|direct[|])$" search_in="var" variable="secret_pair" check_it_inverse="true" assign_to="chk_secret,chk_secret_g"/>',
    ]) + recv('ACK', 'optional="true"') + uas_bye_and_end())


@flow
def loss():
    d = ('Basic call for the loss flows (-lost 5 and -lost 10 on both sipp sides). The callee\n'
         'answers 200 straight away, without a 180: sipp 3.6 resends, for a retransmitted INVITE,\n'
         'only the message it sent right after the INVITE, and forgets even that once it has sent\n'
         'a second message, so a 180 then 200 callee takes a retransmitted INVITE for an unexpected\n'
         'message. Each side lingers after its last message so that it still answers the other\n'
         'side\'s retransmissions: the callee 20 s, as long as the caller retransmits a BYE\n'
         '(0.5+1+2+4+4+4+4 s).')
    write('loss', 'uac', d, uac_invite() + ''.join(RING) +
          recv('200', 'rrs="true"', [CAPTURE_PEER_TO]) + uac_ack() + pause(200) +
          uac_bye_and_end(2))
    write('loss', 'uas', d, uas_invite() + uas_inv_reply('200', 'OK', SDP_B, retrans=True) +
          recv('ACK', 'optional="true"') + recv('BYE') + reply_current() +
          '  <!-- Linger 20 s, taking late ACKs: a 200 retransmitted before the BYE arrived is\n'
          '       ACKed again by a B2BUA (RFC 3261 13.2.2.4), and a message during a <pause> would\n'
          '       be unexpected. Each ACK restarts the wait; a retransmitted BYE is answered by\n'
          '       sipp itself (it resends the 200 it sent after the BYE). -->\n'
          '  <label id="linger"/>\n' +
          recv('ACK', 'timeout="20000" ontimeout="done" next="linger"') +
          '  <!-- sipp 3.6 fails a call that jumps to a label with no message after it. -->\n'
          '  <label id="done"/>\n  <nop/>\n')

@flow
def max_forwards():
    d = ('Max-Forwards: the caller sends 70 on the INVITE and on the BYE; through the B2BUA the\n'
         'callee sees 69 on both (every flow checks the INVITE; this one the in-dialog BYE too).')
    write('max_forwards', 'uac', d, uac_answered() + pause(200) + uac_bye_and_end())
    write('max_forwards', 'uas', d, uas_answer() + recv('ACK') +
          recv('BYE', '', ['<ereg regexp="[0-9]+" search_in="hdr" header="Max-Forwards:" check_it="true" assign_to="bye_mf"/>',
                           '<assignstr assign_to="bye_mf_pair" value="[$bye_mf]|[$mf_want]"/>',
                           '<ereg regexp="^([0-9]+)[|]\\1$" search_in="var" variable="bye_mf_pair" check_it="true" assign_to="chk_bye_mf,chk_bye_mf_g"/>']) +
          reply_current() + pause(4000))

@flow
def max_forwards_zero():
    d = ('An INVITE that arrives with Max-Forwards: 0 is refused with 483 Too Many Hops and\n'
         'never reaches the callee (through the B2BUA the runner starts no callee). Direct (sipp\n'
         'to sipp) the callee plays the B2BUA\'s part: it checks the 0 and answers 483.')
    # INVITE 0, 100 1, 483 2, ACK 3 -> branch-3
    write('max_forwards_zero', 'uac', d, uac_invite(mf=0) + recv('100', 'optional="true"') +
          recv('483') + uac_ack_non2xx(3) + pause(2000))
    write('max_forwards_zero', 'uas', d,
          '  <Global variables="mode,mf_want,forbid,uac_hp"/>\n' +
          recv('INVITE', '', ['<ereg regexp="^ *0$" search_in="hdr" header="Max-Forwards:" check_it="true" assign_to="chk_mf0"/>',
                              '<ereg regexp="branch=[^;,[:space:]]+" search_in="hdr" header="Via:" check_it="true" assign_to="inv_branch"/>']) +
          reply_current('483', 'Too Many Hops') + recv('ACK', '', branch_check('ack')) + pause(1000))


if __name__ == '__main__':
    for fn in FLOWS.values():
        fn()
    print(' '.join(FLOWS))
